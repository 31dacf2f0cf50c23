// panic_amd64.S: the entry of a run-time panic raised by a fault (the role
// of sigpanic's injected call in Go's runtime/signal_amd64.go).
//
// panic.cpp's sigpanicRedirect makes the faulting goroutine look as if the
// faulting instruction had called gort_sigpanic_trampoline: it pushes the
// faulting pc as the return address and passes (sig, code, addr, pc) in
// rdi, rsi, rdx, rcx. The CFI marks this frame a signal frame, so unwinders
// look the caller's pc up as is (not as pc-1): the C++ personality routine
// then finds the faulting instruction's own landing pad when the code was
// compiled with -fnon-call-exceptions, and the traceback shows its line.

        .text
        .globl  gort_sigpanic_trampoline
        .type   gort_sigpanic_trampoline, @function
        .p2align 4
gort_sigpanic_trampoline:
        .cfi_startproc
        .cfi_signal_frame
        pushq   %rbp
        .cfi_adjust_cfa_offset 8
        .cfi_rel_offset rbp, 0
        movq    %rsp, %rbp
        .cfi_def_cfa_register rbp
        andq    $-16, %rsp
        call    gort_sigpanic
        ud2
        .cfi_endproc
        .size   gort_sigpanic_trampoline, .-gort_sigpanic_trampoline

        .section .note.GNU-stack,"",@progbits
