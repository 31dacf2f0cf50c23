// asm_arm64.S: the context switch and stack-switching primitives for
// linux/arm64 (the roles of gogo, mcall, systemstack and asyncPreempt in
// Go's runtime/asm_arm64.s and preempt_arm64.s).
//
// gort_swapcontext saves exactly what AAPCS64 says a callee must preserve:
// x19-x28, the frame record x29/x30, the low 64 bits of v8-v15 (d8-d15) and
// FPCR's mode bits. Every switch is a function call, so the caller-saved
// registers (x0-x18, the rest of the vector file, NZCV, FPSR) are dead by
// definition. Asynchronous preemption interrupts at arbitrary points and
// keeps the whole register file another way: in a copy of the kernel's own
// signal frame (gort_async_preempt below).
//
// sp must stay 16-byte aligned whenever it addresses memory (Linux enables
// the check), so every frame here is a multiple of 16. AAPCS64 has no red
// zone: nothing below sp belongs to the interrupted or suspended code.
#include "asm_arm64.h"

        .text

// void gort_swapcontext(gobuf* from, gobuf* to)
// Suspends the caller in *from and resumes the context saved in *to.
        .globl  gort_swapcontext
        .type   gort_swapcontext, %function
        .p2align 4
gort_swapcontext:
        .cfi_startproc
        sub     sp, sp, #SWITCH_FRAME
        .cfi_def_cfa_offset SWITCH_FRAME
        stp     x19, x20, [sp, #SWITCH_X19]
        .cfi_offset x19, SWITCH_X19-SWITCH_FRAME
        .cfi_offset x20, SWITCH_X19+8-SWITCH_FRAME
        stp     x21, x22, [sp, #SWITCH_X21]
        .cfi_offset x21, SWITCH_X21-SWITCH_FRAME
        .cfi_offset x22, SWITCH_X21+8-SWITCH_FRAME
        stp     x23, x24, [sp, #SWITCH_X23]
        .cfi_offset x23, SWITCH_X23-SWITCH_FRAME
        .cfi_offset x24, SWITCH_X23+8-SWITCH_FRAME
        stp     x25, x26, [sp, #SWITCH_X25]
        .cfi_offset x25, SWITCH_X25-SWITCH_FRAME
        .cfi_offset x26, SWITCH_X25+8-SWITCH_FRAME
        stp     x27, x28, [sp, #SWITCH_X27]
        .cfi_offset x27, SWITCH_X27-SWITCH_FRAME
        .cfi_offset x28, SWITCH_X27+8-SWITCH_FRAME
        stp     x29, x30, [sp, #SWITCH_X29]
        .cfi_offset x29, SWITCH_X29-SWITCH_FRAME
        .cfi_offset x30, SWITCH_X30-SWITCH_FRAME
        stp     d8, d9, [sp, #SWITCH_D8]
        .cfi_offset d8, SWITCH_D8-SWITCH_FRAME
        .cfi_offset d9, SWITCH_D8+8-SWITCH_FRAME
        stp     d10, d11, [sp, #SWITCH_D10]
        .cfi_offset d10, SWITCH_D10-SWITCH_FRAME
        .cfi_offset d11, SWITCH_D10+8-SWITCH_FRAME
        stp     d12, d13, [sp, #SWITCH_D12]
        .cfi_offset d12, SWITCH_D12-SWITCH_FRAME
        .cfi_offset d13, SWITCH_D12+8-SWITCH_FRAME
        stp     d14, d15, [sp, #SWITCH_D14]
        .cfi_offset d14, SWITCH_D14-SWITCH_FRAME
        .cfi_offset d15, SWITCH_D14+8-SWITCH_FRAME
        mrs     x9, fpcr
        str     x9, [sp, #SWITCH_FPCR]
        mov     x9, sp
        str     x9, [x0, #GOBUF_SP]
        ldr     x9, [x1, #GOBUF_SP]
        mov     sp, x9
        // From here the unwind info describes the resumed context, which was
        // saved by this same code, so the CFI above stays valid.
        .globl  gort_swapcontext_resume
gort_swapcontext_resume:
        // Writing FPCR can serialise the pipeline: only when it differs.
        ldr     x9, [sp, #SWITCH_FPCR]
        mrs     x10, fpcr
        cmp     x9, x10
        b.eq    1f
        msr     fpcr, x9
1:
        ldp     x19, x20, [sp, #SWITCH_X19]
        ldp     x21, x22, [sp, #SWITCH_X21]
        ldp     x23, x24, [sp, #SWITCH_X23]
        ldp     x25, x26, [sp, #SWITCH_X25]
        ldp     x27, x28, [sp, #SWITCH_X27]
        ldp     x29, x30, [sp, #SWITCH_X29]
        ldp     d8, d9, [sp, #SWITCH_D8]
        ldp     d10, d11, [sp, #SWITCH_D10]
        ldp     d12, d13, [sp, #SWITCH_D12]
        ldp     d14, d15, [sp, #SWITCH_D14]
        add     sp, sp, #SWITCH_FRAME
        .cfi_def_cfa_offset 0
        ret
        .cfi_endproc
        .size   gort_swapcontext, .-gort_swapcontext

// A new goroutine's first switch "returns" here with its g in x19 (placed in
// the initial switch frame by gort::internal::gostartInit). The frame has no
// caller: the CFI marks the return address undefined so unwinders stop, and
// the frame-pointer chain ends at x29 = 0.
        .globl  gort_gostart
        .type   gort_gostart, %function
        .p2align 4
gort_gostart:
        .cfi_startproc
        .cfi_undefined x30
        mov     x29, #0
        mov     x0, x19
        bl      gort_goroutine_main
        brk     #0x3e8
        .cfi_endproc
        .size   gort_gostart, .-gort_gostart

// void gort_systemstack_on(void (*fn)(void*), void* arg, uintptr_t sp)
// Runs fn(arg) on the stack ending at sp (the M's g0 stack) and returns on
// the caller's stack. The old stack pointer is kept in x19 (callee-saved);
// the frame record keeps the unwinder's way back.
        .globl  gort_systemstack_on
        .type   gort_systemstack_on, %function
        .p2align 4
gort_systemstack_on:
        .cfi_startproc
        stp     x29, x30, [sp, #-32]!
        .cfi_def_cfa_offset 32
        .cfi_offset x29, -32
        .cfi_offset x30, -24
        str     x19, [sp, #16]
        .cfi_offset x19, -16
        mov     x29, sp
        .cfi_def_cfa_register x29
        mov     x19, sp
        and     x2, x2, #-16
        mov     sp, x2
        mov     x9, x0
        mov     x0, x1
        blr     x9
        mov     sp, x19
        .cfi_def_cfa_register sp
        ldr     x19, [sp, #16]
        ldp     x29, x30, [sp], #32
        .cfi_def_cfa_offset 0
        ret
        .cfi_endproc
        .size   gort_systemstack_on, .-gort_systemstack_on

// Traceback of a suspended goroutine. The dumper builds a switch frame below
// the goroutine's saved sp whose x30 is this label, with x19 = that saved sp
// and x20 = the request, and switches to it. The CFI says the caller's frame
// is the goroutine's own suspended switch frame at x19, so an unwinder
// started in gort_traceback_on_g walks on into the goroutine's frames.
// gort_traceback_on_g switches back to the dumper and never returns.
        .globl  gort_trace_trampoline
        .type   gort_trace_trampoline, %function
        .p2align 4
gort_trace_trampoline:
        .cfi_startproc
        .cfi_def_cfa x19, SWITCH_FRAME
        .cfi_offset x19, SWITCH_X19-SWITCH_FRAME
        .cfi_offset x20, SWITCH_X19+8-SWITCH_FRAME
        .cfi_offset x21, SWITCH_X21-SWITCH_FRAME
        .cfi_offset x22, SWITCH_X21+8-SWITCH_FRAME
        .cfi_offset x23, SWITCH_X23-SWITCH_FRAME
        .cfi_offset x24, SWITCH_X23+8-SWITCH_FRAME
        .cfi_offset x25, SWITCH_X25-SWITCH_FRAME
        .cfi_offset x26, SWITCH_X25+8-SWITCH_FRAME
        .cfi_offset x27, SWITCH_X27-SWITCH_FRAME
        .cfi_offset x28, SWITCH_X27+8-SWITCH_FRAME
        .cfi_offset x29, SWITCH_X29-SWITCH_FRAME
        .cfi_offset x30, SWITCH_X30-SWITCH_FRAME
        .cfi_offset d8, SWITCH_D8-SWITCH_FRAME
        .cfi_offset d9, SWITCH_D8+8-SWITCH_FRAME
        .cfi_offset d10, SWITCH_D10-SWITCH_FRAME
        .cfi_offset d11, SWITCH_D10+8-SWITCH_FRAME
        .cfi_offset d12, SWITCH_D12-SWITCH_FRAME
        .cfi_offset d13, SWITCH_D12+8-SWITCH_FRAME
        .cfi_offset d14, SWITCH_D14-SWITCH_FRAME
        .cfi_offset d15, SWITCH_D14+8-SWITCH_FRAME
        mov     x0, x20
        bl      gort_traceback_on_g
        brk     #0x3e8
        .cfi_endproc
        .size   gort_trace_trampoline, .-gort_trace_trampoline

// Asynchronous preemption (the role of Go's asyncPreempt). arm64 has no
// instruction that restores every general register and the pc at once, and
// no register is free in C++ code to branch through (Go reserves R27 for
// this; AAPCS64 reserves none), so the interrupted state is restored the way
// the kernel restores it after a signal: rt_sigreturn from a signal frame.
// The SIGURG handler (sigctxtInjectPreempt, sys_arm64.cpp) copies the
// kernel's frame, with every record it holds (the general registers, pc,
// sp, NZCV, and the FPSIMD and SVE/SME state the kernel exposes), below the
// interrupted sp, and resumes here with sp = the copy's rt_sigframe, x19 =
// its ucontext. The stub yields (gort_async_preempt2), updates the copy for
// the thread it now runs on (gort_async_preempt_return: signal mask and
// alternate stack, which rt_sigreturn also sets), and returns into the
// interrupted code through rt_sigreturn, possibly on another M.
//
// The unwind info reads the interrupted frame from the copy, so tracebacks
// of a preempted goroutine walk on into its code: CFA = the saved sp,
// x0-x30 and the return address (the alternative return column, the saved
// pc) at their ucontext slots. No exception unwinds through the stub, so
// the d8-d15 slots inside the FPSIMD record are not described.
        .macro  uc_slot col, off
        // DW_CFA_expression col, {DW_OP_breg19 off} (off in 128..8191)
        .cfi_escape 0x10, \col, 3, 0x83, ((\off) & 0x7f) | 0x80, (\off) >> 7
        .endm
        .macro  uc_reg n
        uc_slot \n, UC_REGS + 8 * \n
        .endm

        .globl  gort_async_preempt
        .type   gort_async_preempt, %function
        .p2align 4
gort_async_preempt:
        .cfi_startproc simple
        .cfi_signal_frame
        .cfi_return_column DWARF_ALT_RA
        // DW_CFA_def_cfa_expression {DW_OP_breg19 UC_SP; DW_OP_deref}
        .cfi_escape 0x0f, 4, 0x83, (UC_SP & 0x7f) | 0x80, UC_SP >> 7, 0x06
        uc_reg 0
        uc_reg 1
        uc_reg 2
        uc_reg 3
        uc_reg 4
        uc_reg 5
        uc_reg 6
        uc_reg 7
        uc_reg 8
        uc_reg 9
        uc_reg 10
        uc_reg 11
        uc_reg 12
        uc_reg 13
        uc_reg 14
        uc_reg 15
        uc_reg 16
        uc_reg 17
        uc_reg 18
        uc_reg 19
        uc_reg 20
        uc_reg 21
        uc_reg 22
        uc_reg 23
        uc_reg 24
        uc_reg 25
        uc_reg 26
        uc_reg 27
        uc_reg 28
        uc_reg 29
        uc_reg 30
        uc_slot DWARF_ALT_RA, UC_PC
        bl      gort_async_preempt2
        mov     x0, x19
        bl      gort_async_preempt_return
        sub     sp, x19, #SIGINFO_SIZE
        mov     x8, #139                // __NR_rt_sigreturn
        svc     #0
        brk     #0x3e8                  // rt_sigreturn does not return here
        .cfi_endproc
        .size   gort_async_preempt, .-gort_async_preempt

        .section .note.GNU-stack,"",%progbits
