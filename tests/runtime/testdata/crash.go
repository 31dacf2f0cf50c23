// The Go programs behind tests/runtime/crash_test.cpp: run
// `go run crash.go <case>` with Go 1.19 to see the output and exit status
// each gort test expects (GOTRACEBACK=none|all|crash for the level tests).
package main

import (
	"fmt"
	"os"
	"syscall"
	"unsafe"
)

func parkOne() {
	never := make(chan int)
	go func() { <-never }()
}

func main() {
	switch os.Args[1] {
	case "fault":
		parkOne()
		p := (*int)(unsafe.Pointer(uintptr(0xdeadbeef)))
		fmt.Println(*p)
	case "nil":
		var p *int
		fmt.Println(*p)
	case "divide":
		a, b := 1, 0
		fmt.Println(a / b)
	case "abort":
		syscall.Kill(os.Getpid(), syscall.SIGABRT)
		select {}
	case "quit":
		parkOne()
		syscall.Kill(os.Getpid(), syscall.SIGQUIT)
		select {}
	case "pipe-stdout":
		r, w, _ := os.Pipe()
		r.Close()
		syscall.Dup2(int(w.Fd()), 1)
		fmt.Println("x")
		fmt.Fprintln(os.Stderr, "survived")
	case "pipe-other":
		r, w, _ := os.Pipe()
		r.Close()
		_, err := w.Write([]byte("x"))
		fmt.Fprintln(os.Stderr, err)
	}
}
