// An empty select blocks forever.
package main

func main() {
	select {}
}
