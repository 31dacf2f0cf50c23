// Locking a locked sync.Mutex with nobody to unlock it.
package main

import "sync"

func main() {
	var mu sync.Mutex
	mu.Lock()
	mu.Lock()
}
