// panic_arm64.S: the entry of a run-time panic raised by a fault (the role
// of sigpanic's injected call in Go's runtime/signal_arm64.go).
//
// panic.cpp's sigpanicRedirect makes the faulting goroutine look as if the
// faulting instruction had called gort_sigpanic_trampoline: sigctxtPushCall
// (sys_arm64.cpp) stores the interrupted x30 and the faulting pc in a 16-byte
// slot below the interrupted sp, sets x30 to the faulting pc and passes
// (sig, code, addr, pc) in x0-x3. A fault in a leaf function (which never
// saved its x30) needs both values, so the frame's return address lives in
// the alternative return column (asm_arm64.h), not in x30's. The CFI marks
// the frame a signal frame, so unwinders look the faulting pc up as is (not
// as pc-1): the C++ personality routine then finds the faulting
// instruction's own landing pad when the code was compiled with
// -fnon-call-exceptions, and the traceback shows its line.
#include "asm_arm64.h"

        .text
        .globl  gort_sigpanic_trampoline
        .type   gort_sigpanic_trampoline, %function
        .p2align 4
gort_sigpanic_trampoline:
        .cfi_startproc simple
        .cfi_signal_frame
        .cfi_return_column DWARF_ALT_RA
        .cfi_def_cfa sp, 16
        .cfi_offset x30, -16
        .cfi_offset DWARF_ALT_RA, -8
        stp     x29, x30, [sp, #-16]!
        .cfi_adjust_cfa_offset 16
        .cfi_offset x29, -32
        mov     x29, sp
        .cfi_def_cfa_register x29
        bl      gort_sigpanic
        brk     #0x3e8
        .cfi_endproc
        .size   gort_sigpanic_trampoline, .-gort_sigpanic_trampoline

        .section .note.GNU-stack,"",%progbits
