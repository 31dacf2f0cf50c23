// regfile_amd64.S: gorttest_spin_registers(stop, out, in) (arch.hpp) for
// amd64: loads rax, rdx, rbx, rbp, r8-r15 (slot n of register number n at
// in + 8n) and xmm0-xmm15 (at in + 256 + 16n) from in, spins until *stop is
// non-zero (rcx is the scratch), and stores the same registers to out.
        .text
        .globl  gorttest_spin_registers
        .type   gorttest_spin_registers, @function
        .p2align 4
gorttest_spin_registers:
        pushq   %rbx
        pushq   %rbp
        pushq   %r12
        pushq   %r13
        pushq   %r14
        pushq   %r15
        .irp    n, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15
        movdqu  256+16*\n(%rdx), %xmm\n
        .endr
        movq    0(%rdx), %rax
        movq    24(%rdx), %rbx
        movq    40(%rdx), %rbp
        .irp    n, 8, 9, 10, 11, 12, 13, 14, 15
        movq    8*\n(%rdx), %r\n
        .endr
        movq    16(%rdx), %rdx
1:      movl    (%rdi), %ecx
        testl   %ecx, %ecx
        jz      1b
        .irp    n, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15
        movdqu  %xmm\n, 256+16*\n(%rsi)
        .endr
        movq    %rax, 0(%rsi)
        movq    %rdx, 16(%rsi)
        movq    %rbx, 24(%rsi)
        movq    %rbp, 40(%rsi)
        .irp    n, 8, 9, 10, 11, 12, 13, 14, 15
        movq    %r\n, 8*\n(%rsi)
        .endr
        popq    %r15
        popq    %r14
        popq    %r13
        popq    %r12
        popq    %rbp
        popq    %rbx
        ret
        .size   gorttest_spin_registers, .-gorttest_spin_registers

        .section .note.GNU-stack,"",%progbits
