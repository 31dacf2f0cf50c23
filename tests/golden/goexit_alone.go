// main calls runtime.Goexit with no other goroutine left.
package main

import "runtime"

func main() {
	runtime.Goexit()
}
