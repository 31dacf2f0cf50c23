// panics.go: the Go programs behind panic_test.cpp's expected reports. Run
// with Go 1.19: `go run panics.go <case>`; each case's report (stderr, exit
// status 2) is quoted below with paths and addresses masked. gort prints C++
// names and paths in the frame lines; the panic lines, headers and exit
// status match.
package main

import (
	"fmt"
	"os"
	"runtime"
	"time"
)

func worker(c chan int) { <-c }

func main() {
	switch os.Args[1] {
	case "str":
		// panic: boom
		//
		// goroutine 1 [running]:
		// main.main()
		// 	/tmp/panics.go:NN +0x..
		panic("boom")
	case "chain":
		// panic: first [recovered]
		// 	panic: second
		//
		// goroutine 1 [running]:
		defer func() { recover(); panic("second") }()
		panic("first")
	case "chain3":
		// panic: first
		// 	panic: second
		// 	panic: third
		defer func() { panic("third") }()
		defer func() { panic("second") }()
		panic("first")
	case "afresh":
		// panic: B   (the recovered A is gone)
		defer func() { panic("B") }()
		defer func() { recover() }()
		panic("A")
	case "index":
		// panic: runtime error: index out of range [5] with length 3
		s, i := []int{1, 2, 3}, 5
		fmt.Println(s[i])
	case "nil":
		// panic: runtime error: invalid memory address or nil pointer dereference
		// [signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x...]
		var p *struct{ X int }
		fmt.Println(p.X)
	case "div":
		// panic: runtime error: integer divide by zero
		a, b := 1, 0
		fmt.Println(a / b)
	case "assert":
		// panic: interface conversion: interface {} is string, not int
		var x interface{} = "s"
		fmt.Println(x.(int))
	case "values":
		// panic: 42 / +1.500000e+000 / true / main.MyInt(5) / (main.T) 0x...
		panic(1.5)
	case "panicnil":
		// Go 1.19: "panic: nil"; Go 1.21+: "panic: panic called with nil
		// argument" (runtime.PanicNilError) unless GODEBUG=panicnil=1.
		panic(nil)
	case "goexit":
		// deferred calls run, recover() returns nil; on the main goroutine:
		// fatal error: no goroutines (main called runtime.Goexit) - deadlock!
		defer func() { fmt.Println("rec:", recover()) }()
		runtime.Goexit()
	case "all":
		// GOTRACEBACK=none: "panic: boom\n" only. single: + goroutine 1.
		// all: + "goroutine N [chan receive]:\nmain.worker(...)\n...\ncreated by main.main"
		// crash: as all, then SIGABRT.
		c := make(chan int)
		go worker(c)
		time.Sleep(10 * time.Millisecond)
		panic("boom")
	}
}
