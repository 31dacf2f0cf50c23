// sys_amd64.cpp: linux/amd64 implementations of the back-end contract in
// sys_amd64.hpp. The switch-frame layout is asm_amd64.h's; the signal
// context is the kernel's ucontext_t.
#include "runtime/arch.hpp"  // and so sys_amd64.hpp

#include <cpuid.h>
#include <ucontext.h>
#include <x86intrin.h>

#include <cstring>

#include "runtime/asm_amd64.h"
#include "runtime/print.hpp"
#include "runtime/runtime2.hpp"
#include "runtime/stubs.hpp"

extern "C" {
void gort_trace_trampoline();
void gort_async_preempt();
// Bytes gort_async_preempt reserves for xsave (asyncPreemptInit).
uint64_t gort_xsave_size = 0;
}

namespace gort::internal {

static_assert(offsetof(gobuf, sp) == GOBUF_SP, "asm_amd64.h GOBUF_SP");

namespace {

// A switch frame as gort_swapcontext leaves it (at the saved sp) and the
// return address its ret pops; every offset asm_amd64.h names is pinned.
struct SwitchFrame {
  uint32_t mxcsr;
  uint16_t fpcw;
  uint16_t pad;
  uint64_t r15, r14, r13, r12, rbx, rbp;
  uint64_t ret;
};
static_assert(offsetof(SwitchFrame, mxcsr) == SWITCH_CSR && offsetof(SwitchFrame, r15) == SWITCH_R15 &&
                  offsetof(SwitchFrame, r14) == SWITCH_R14 && offsetof(SwitchFrame, r13) == SWITCH_R13 &&
                  offsetof(SwitchFrame, r12) == SWITCH_R12 && offsetof(SwitchFrame, rbx) == SWITCH_RBX &&
                  offsetof(SwitchFrame, rbp) == SWITCH_RBP && offsetof(SwitchFrame, ret) == SWITCH_RET &&
                  SWITCH_RET == SWITCH_FRAME,
              "asm_amd64.h switch frame");

// A switch frame at sp with the default FP environment (MXCSR 0x1F80, x87
// control word 0x037F), not the creator's, and its return address.
SwitchFrame* zeroSwitchFrame(uintptr_t sp, uintptr_t ret) {
  auto* frame = reinterpret_cast<SwitchFrame*>(sp);
  *frame = SwitchFrame{};
  frame->mxcsr = 0x1F80;
  frame->fpcw = 0x037F;
  frame->ret = ret;
  return frame;
}


greg_t* regs(void* ctx) { return static_cast<ucontext_t*>(ctx)->uc_mcontext.gregs; }
const greg_t* regs(const void* ctx) { return static_cast<const ucontext_t*>(ctx)->uc_mcontext.gregs; }

}  // namespace

void gostartInit(g* gp) {
  uintptr_t sp = gp->stk.hi - 16 - sizeof(SwitchFrame);  // the top 16 bytes stay a sentinel
  SwitchFrame* frame = zeroSwitchFrame(sp, reinterpret_cast<uintptr_t>(&gort_gostart));
  frame->r12 = reinterpret_cast<uint64_t>(gp);  // gort_gostart's argument
  gp->sched.sp = sp;
}

uintptr_t traceFrame(uintptr_t savedSp, void* request) {
  // Well below the saved sp, clear of anything the suspended G owns.
  uintptr_t sp = ((savedSp - 512) & ~uintptr_t(15)) - sizeof(SwitchFrame);
  SwitchFrame* frame = zeroSwitchFrame(sp, reinterpret_cast<uintptr_t>(&gort_trace_trampoline));
  frame->rbx = savedSp;  // the trampoline's CFA base
  frame->r12 = reinterpret_cast<uint64_t>(request);
  return sp;
}

int64_t cputicks() { return int64_t(__rdtsc()); }

// The xsave area's size for the features the OS enabled, plus alignment
// slack; without xsave the stub cannot keep the vector state.
bool asyncPreemptInit() {
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & bit_OSXSAVE)) return false;
  if (!__get_cpuid_count(0xD, 0, &a, &b, &c, &d) || b == 0) return false;
  gort_xsave_size = b + 64;
  return true;
}

uintptr_t sigctxtPC(const void* ctx) { return uintptr_t(regs(ctx)[REG_RIP]); }
uintptr_t sigctxtSP(const void* ctx) { return uintptr_t(regs(ctx)[REG_RSP]); }
uintptr_t sigctxtFP(const void* ctx) { return uintptr_t(regs(ctx)[REG_RBP]); }

// A frameless function (or one still in its prologue) has its return
// address on top of the stack.
[[gnu::no_sanitize_address]] uintptr_t sigctxtLeafReturnSlot(const void* ctx, uintptr_t lo, uintptr_t hi) {
  uintptr_t sp = sigctxtSP(ctx);
  if (sp < lo || sp > hi - sizeof(uintptr_t) || sp % sizeof(uintptr_t) != 0) return 0;
  return *reinterpret_cast<const uintptr_t*>(sp);
}

// call rel32 (e8 xx xx xx xx) ending at ret.
bool directCallTarget(uintptr_t ret, uintptr_t* target) {
  const auto* insn = reinterpret_cast<const unsigned char*>(ret - 5);
  if (insn[0] != 0xe8) return false;
  int32_t rel;
  std::memcpy(&rel, insn + 1, 4);
  *target = ret + uintptr_t(intptr_t(rel));
  return true;
}

// The interrupted pc is pushed as the return address, `skip` bytes below the
// interrupted sp (the red zone).
void sigctxtPushCall(void* ctx, uintptr_t fn, uintptr_t skip) {
  greg_t* r = regs(ctx);
  uintptr_t sp = uintptr_t(r[REG_RSP]) - skip - 8;
  *reinterpret_cast<uintptr_t*>(sp) = uintptr_t(r[REG_RIP]);
  r[REG_RSP] = greg_t(sp);
  r[REG_RIP] = greg_t(fn);
}

void sigctxtSetArgs(void* ctx, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3) {
  greg_t* r = regs(ctx);
  r[REG_RDI] = greg_t(a0);
  r[REG_RSI] = greg_t(a1);
  r[REG_RDX] = greg_t(a2);
  r[REG_RCX] = greg_t(a3);
}

// The stub leaves the interrupted sp's red zone alone (see asm_amd64.S); the
// portable kPreemptStackRoom check already covers its save area.
bool sigctxtInjectPreempt(void* ctx, uintptr_t) {
  sigctxtPushCall(ctx, reinterpret_cast<uintptr_t>(&gort_async_preempt), kRedZone);
  return true;
}

void sigctxtDumpRegs(const void* ctx, Printer& out) {
  static const struct {
    const char* name;
    int reg;
  } kRegs[] = {{"rax    ", REG_RAX}, {"rbx    ", REG_RBX}, {"rcx    ", REG_RCX}, {"rdx    ", REG_RDX},
               {"rdi    ", REG_RDI}, {"rsi    ", REG_RSI}, {"rbp    ", REG_RBP}, {"rsp    ", REG_RSP},
               {"r8     ", REG_R8},  {"r9     ", REG_R9},  {"r10    ", REG_R10}, {"r11    ", REG_R11},
               {"r12    ", REG_R12}, {"r13    ", REG_R13}, {"r14    ", REG_R14}, {"r15    ", REG_R15},
               {"rip    ", REG_RIP}, {"rflags ", REG_EFL}};
  const greg_t* r = regs(ctx);
  out << "\n";
  for (const auto& reg : kRegs) out << reg.name << Hex{uint64_t(r[reg.reg])} << "\n";
  uint64_t csgsfs = uint64_t(r[REG_CSGSFS]);
  out << "cs     " << Hex{csgsfs & 0xffff} << "\n";
  out << "fs     " << Hex{(csgsfs >> 32) & 0xffff} << "\n";
  out << "gs     " << Hex{(csgsfs >> 16) & 0xffff} << "\n";
}

}  // namespace gort::internal
