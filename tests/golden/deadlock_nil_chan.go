// main receives from a nil channel, which blocks forever.
package main

func main() {
	var c chan int
	<-c
}
