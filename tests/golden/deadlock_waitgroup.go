// Two goroutines block on a channel while main waits for them.
package main

import "sync"

func main() {
	var wg sync.WaitGroup
	c := make(chan int)
	for i := 0; i < 2; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-c
		}()
	}
	wg.Wait()
}
