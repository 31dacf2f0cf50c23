// asm_amd64.S: the context switch and stack-switching primitives for
// linux/amd64 (mirrors the roles of gogo, mcall and systemstack in Go's
// runtime/asm_amd64.s).
//
// gort_swapcontext saves exactly what the System V ABI says a callee must
// preserve: rbx, rbp, r12-r15, MXCSR's control bits and the x87 control
// word. Caller-saved registers are dead at the call by definition, so they
// are not saved; vector registers are all caller-saved on amd64. Asynchronous
// preemption (which interrupts at arbitrary points) saves the full register
// file separately, in the signal frame.
#include "asm_amd64.h"

        .text

// void gort_swapcontext(gobuf* from, gobuf* to)
// Suspends the caller in *from and resumes the context saved in *to.
        .globl  gort_swapcontext
        .type   gort_swapcontext, @function
        .p2align 4
gort_swapcontext:
        .cfi_startproc
        pushq   %rbp
        .cfi_adjust_cfa_offset 8
        .cfi_rel_offset rbp, 0
        pushq   %rbx
        .cfi_adjust_cfa_offset 8
        .cfi_rel_offset rbx, 0
        pushq   %r12
        .cfi_adjust_cfa_offset 8
        .cfi_rel_offset r12, 0
        pushq   %r13
        .cfi_adjust_cfa_offset 8
        .cfi_rel_offset r13, 0
        pushq   %r14
        .cfi_adjust_cfa_offset 8
        .cfi_rel_offset r14, 0
        pushq   %r15
        .cfi_adjust_cfa_offset 8
        .cfi_rel_offset r15, 0
        subq    $8, %rsp
        .cfi_adjust_cfa_offset 8
        stmxcsr SWITCH_CSR(%rsp)
        fnstcw  SWITCH_CSR+4(%rsp)
        movq    %rsp, GOBUF_SP(%rdi)
        movq    GOBUF_SP(%rsi), %rsp
        // From here the unwind info describes the resumed context, which was
        // saved by this same code, so the CFI above stays valid.
        .globl  gort_swapcontext_resume
gort_swapcontext_resume:
        ldmxcsr SWITCH_CSR(%rsp)
        fldcw   SWITCH_CSR+4(%rsp)
        addq    $8, %rsp
        .cfi_adjust_cfa_offset -8
        popq    %r15
        .cfi_adjust_cfa_offset -8
        popq    %r14
        .cfi_adjust_cfa_offset -8
        popq    %r13
        .cfi_adjust_cfa_offset -8
        popq    %r12
        .cfi_adjust_cfa_offset -8
        popq    %rbx
        .cfi_adjust_cfa_offset -8
        popq    %rbp
        .cfi_adjust_cfa_offset -8
        ret
        .cfi_endproc
        .size   gort_swapcontext, .-gort_swapcontext

// A new goroutine's first switch "returns" here with its g in r12 (placed in
// the initial switch frame by gort::internal::gostartInit). The frame has no
// caller: the CFI marks the return address undefined so unwinders stop.
        .globl  gort_gostart
        .type   gort_gostart, @function
        .p2align 4
gort_gostart:
        .cfi_startproc
        .cfi_undefined rip
        xorl    %ebp, %ebp
        movq    %r12, %rdi
        andq    $-16, %rsp
        call    gort_goroutine_main
        ud2
        .cfi_endproc
        .size   gort_gostart, .-gort_gostart

// void gort_systemstack_on(void (*fn)(void*), void* arg, uintptr_t sp)
// Runs fn(arg) on the stack ending at sp (the M's g0 stack) and returns on
// the caller's stack. The old stack pointer is kept in rbx (callee-saved).
        .globl  gort_systemstack_on
        .type   gort_systemstack_on, @function
        .p2align 4
gort_systemstack_on:
        .cfi_startproc
        pushq   %rbp
        .cfi_adjust_cfa_offset 8
        .cfi_rel_offset rbp, 0
        movq    %rsp, %rbp
        .cfi_def_cfa_register rbp
        pushq   %rbx
        .cfi_offset rbx, -24
        subq    $8, %rsp
        movq    %rsp, %rbx
        andq    $-16, %rdx
        movq    %rdx, %rsp
        movq    %rdi, %rax
        movq    %rsi, %rdi
        call    *%rax
        movq    %rbx, %rsp
        addq    $8, %rsp
        popq    %rbx
        popq    %rbp
        .cfi_def_cfa rsp, 8
        ret
        .cfi_endproc
        .size   gort_systemstack_on, .-gort_systemstack_on

// Traceback of a suspended goroutine. The dumper builds a switch frame below
// the goroutine's saved sp whose return address is this label, with rbx =
// that saved sp and r12 = the request, and switches to it. The CFI says the
// caller's frame is the goroutine's own suspended switch frame at rbx, so an
// unwinder started in gort_traceback_on_g walks on into the goroutine's
// frames. gort_traceback_on_g switches back to the dumper and never returns.
        .globl  gort_trace_trampoline
        .type   gort_trace_trampoline, @function
        .p2align 4
gort_trace_trampoline:
        .cfi_startproc
        .cfi_def_cfa rbx, SWITCH_FRAME+8
        .cfi_offset rbp, SWITCH_RBP-SWITCH_FRAME-8
        .cfi_offset rbx, SWITCH_RBX-SWITCH_FRAME-8
        .cfi_offset r12, SWITCH_R12-SWITCH_FRAME-8
        .cfi_offset r13, SWITCH_R13-SWITCH_FRAME-8
        .cfi_offset r14, SWITCH_R14-SWITCH_FRAME-8
        .cfi_offset r15, SWITCH_R15-SWITCH_FRAME-8
        movq    %r12, %rdi
        andq    $-16, %rsp
        call    gort_traceback_on_g
        ud2
        .cfi_endproc
        .size   gort_trace_trampoline, .-gort_trace_trampoline

// Asynchronous preemption (the role of Go's asyncPreempt). The SIGURG
// handler (preempt.cpp) makes the interrupted goroutine "call" this stub: it
// leaves the interrupted rsp's 128-byte red zone alone, stores the
// interrupted pc just below it, and points rsp there. The stub saves every
// register the interrupted code may be using (general registers, flags and
// the whole x87/SSE/AVX state through xsave), lets the scheduler switch the
// goroutine out, restores everything and returns with `ret $128`, which
// pops the pc and steps back over the red zone.
        .globl  gort_async_preempt
        .type   gort_async_preempt, @function
        .p2align 4
gort_async_preempt:
        .cfi_startproc
        .cfi_signal_frame
        .cfi_def_cfa rsp, 136
        .cfi_offset rip, -136
        pushfq
        .cfi_adjust_cfa_offset 8
        pushq   %rax
        .cfi_adjust_cfa_offset 8
        pushq   %rbx
        .cfi_adjust_cfa_offset 8
        .cfi_rel_offset rbx, 0
        pushq   %rcx
        .cfi_adjust_cfa_offset 8
        pushq   %rdx
        .cfi_adjust_cfa_offset 8
        pushq   %rsi
        .cfi_adjust_cfa_offset 8
        pushq   %rdi
        .cfi_adjust_cfa_offset 8
        pushq   %rbp
        .cfi_adjust_cfa_offset 8
        .cfi_rel_offset rbp, 0
        pushq   %r8
        .cfi_adjust_cfa_offset 8
        pushq   %r9
        .cfi_adjust_cfa_offset 8
        pushq   %r10
        .cfi_adjust_cfa_offset 8
        pushq   %r11
        .cfi_adjust_cfa_offset 8
        pushq   %r12
        .cfi_adjust_cfa_offset 8
        .cfi_rel_offset r12, 0
        pushq   %r13
        .cfi_adjust_cfa_offset 8
        .cfi_rel_offset r13, 0
        pushq   %r14
        .cfi_adjust_cfa_offset 8
        .cfi_rel_offset r14, 0
        pushq   %r15
        .cfi_adjust_cfa_offset 8
        .cfi_rel_offset r15, 0
        movq    %rsp, %rbp
        .cfi_def_cfa_register rbp
        subq    gort_xsave_size(%rip), %rsp
        andq    $-64, %rsp
        // xrstor faults unless the xsave header's reserved bytes are zero,
        // and xsave does not write them.
        xorl    %eax, %eax
        movq    %rax, 512(%rsp)
        movq    %rax, 520(%rsp)
        movq    %rax, 528(%rsp)
        movq    %rax, 536(%rsp)
        movq    %rax, 544(%rsp)
        movq    %rax, 552(%rsp)
        movq    %rax, 560(%rsp)
        movq    %rax, 568(%rsp)
        movl    $-1, %eax
        movl    $-1, %edx
        xsave64 (%rsp)
        call    gort_async_preempt2
        movl    $-1, %eax
        movl    $-1, %edx
        xrstor64 (%rsp)
        movq    %rbp, %rsp
        .cfi_def_cfa_register rsp
        popq    %r15
        .cfi_adjust_cfa_offset -8
        popq    %r14
        .cfi_adjust_cfa_offset -8
        popq    %r13
        .cfi_adjust_cfa_offset -8
        popq    %r12
        .cfi_adjust_cfa_offset -8
        popq    %r11
        .cfi_adjust_cfa_offset -8
        popq    %r10
        .cfi_adjust_cfa_offset -8
        popq    %r9
        .cfi_adjust_cfa_offset -8
        popq    %r8
        .cfi_adjust_cfa_offset -8
        popq    %rbp
        .cfi_adjust_cfa_offset -8
        popq    %rdi
        .cfi_adjust_cfa_offset -8
        popq    %rsi
        .cfi_adjust_cfa_offset -8
        popq    %rdx
        .cfi_adjust_cfa_offset -8
        popq    %rcx
        .cfi_adjust_cfa_offset -8
        popq    %rbx
        .cfi_adjust_cfa_offset -8
        popq    %rax
        .cfi_adjust_cfa_offset -8
        popfq
        .cfi_adjust_cfa_offset -8
        ret     $128
        .cfi_endproc
        .size   gort_async_preempt, .-gort_async_preempt

        .section .note.GNU-stack,"",@progbits
