// main calls runtime.Goexit; the goroutine it leaves behind blocks forever.
package main

import (
	"runtime"
	"time"
)

func main() {
	c := make(chan int)
	go func() {
		time.Sleep(10 * time.Millisecond)
		<-c
	}()
	runtime.Goexit()
}
