// main blocks receiving from a channel nobody sends on.
package main

func main() {
	c := make(chan int)
	<-c
}
