/* asm_arm64.h: offsets shared by asm_arm64.S, panic_arm64.S and C++
 * (pinned by static_asserts in sys_arm64.cpp, so the two cannot drift). */
#ifndef GORT_ASM_ARM64_H
#define GORT_ASM_ARM64_H

/* gobuf.sp */
#define GOBUF_SP 0

/* The switch frame gort_swapcontext stores below the caller's sp: the
 * AAPCS64 callee-saved registers x19-x28, the frame record x29/x30, the low
 * halves d8-d15 of v8-v15, and FPCR (the rounding mode and trap enables);
 * 16-byte aligned as sp must be. Offsets from the saved sp. */
#define SWITCH_X19 0
#define SWITCH_X21 16
#define SWITCH_X23 32
#define SWITCH_X25 48
#define SWITCH_X27 64
#define SWITCH_X29 80
#define SWITCH_X30 88
#define SWITCH_D8 96
#define SWITCH_D10 112
#define SWITCH_D12 128
#define SWITCH_D14 144
#define SWITCH_FPCR 160
#define SWITCH_FRAME 176

/* The kernel's signal frame (struct rt_sigframe: siginfo, then ucontext)
 * as the preemption stub sees its copy: offsets inside ucontext_t. */
#define SIGINFO_SIZE 128
#define UC_REGS 184 /* uc_mcontext.regs[0] */
#define UC_SP 432   /* uc_mcontext.sp */
#define UC_PC 440   /* uc_mcontext.pc */

/* The DWARF column libgcc's unwinder reserves for a signal frame's return
 * address (DWARF_ALT_FRAME_RETURN_COLUMN: one past v31): a trampoline that
 * stands for an interrupted instruction needs both the interrupted pc and
 * the interrupted x30, so the return address cannot live in x30's column. */
#define DWARF_ALT_RA 96

#endif
