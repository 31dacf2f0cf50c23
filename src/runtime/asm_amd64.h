/* asm_amd64.h: offsets shared by asm_amd64.S and C++ (pinned by
 * static_asserts in sys_amd64.cpp, so the two cannot drift). */
#ifndef GORT_ASM_AMD64_H
#define GORT_ASM_AMD64_H

/* gobuf.sp */
#define GOBUF_SP 0
/* Bytes gort_swapcontext pushes: rbp rbx r12 r13 r14 r15 (48) + an 8-byte
 * slot holding MXCSR (low 4) and the x87 control word (next 2). */
#define SWITCH_FRAME 56
/* Offsets inside the switch frame, from the saved sp. */
#define SWITCH_CSR 0
#define SWITCH_R15 8
#define SWITCH_R14 16
#define SWITCH_R13 24
#define SWITCH_R12 32
#define SWITCH_RBX 40
#define SWITCH_RBP 48
#define SWITCH_RET 56

#endif
