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

        .section .note.GNU-stack,"",@progbits
