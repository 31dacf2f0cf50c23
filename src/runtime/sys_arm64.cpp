// sys_arm64.cpp: linux/arm64 implementations of the back-end contract in
// sys_arm64.hpp. The switch-frame layout is asm_arm64.h's; the signal
// context is the kernel's ucontext_t, whose uc_mcontext.__reserved area
// holds tagged records (FPSIMD, SVE, ESR, ..., and an extra_context record
// pointing past the frame when the state outgrows it).
#include "runtime/arch.hpp"  // and so sys_arm64.hpp

#include <pthread.h>
#include <signal.h>
#include <ucontext.h>

#include <cstring>

#include "runtime/asm_arm64.h"
#include "runtime/print.hpp"
#include "runtime/runtime2.hpp"
#include "runtime/stubs.hpp"

extern "C" {
void gort_trace_trampoline();
void gort_async_preempt();
}

namespace gort::internal {

static_assert(offsetof(gobuf, sp) == GOBUF_SP, "asm_arm64.h GOBUF_SP");
static_assert(sizeof(siginfo_t) == SIGINFO_SIZE, "asm_arm64.h SIGINFO_SIZE");
static_assert(offsetof(ucontext_t, uc_mcontext.regs) == UC_REGS, "asm_arm64.h UC_REGS");
static_assert(offsetof(ucontext_t, uc_mcontext.sp) == UC_SP, "asm_arm64.h UC_SP");
static_assert(offsetof(ucontext_t, uc_mcontext.pc) == UC_PC, "asm_arm64.h UC_PC");
static_assert(SWITCH_FRAME % 16 == 0 && SWITCH_FPCR + 8 <= SWITCH_FRAME, "asm_arm64.h switch frame");

namespace {

// Room the stub's calls (gort_async_preempt2's mcall path) need below the
// copied frame.
constexpr uintptr_t kPreemptCallRoom = 8 << 10;
// The kernel's record tags (asm/sigcontext.h, which clashes with glibc's
// headers).
constexpr uint32_t kExtraMagic = 0x45585401;
// The largest frame we copy: SVE state at the architecture's largest vector
// length fits; the ZA array of a large SME vector length does not.
constexpr size_t kMaxFrameCopy = 64 << 10;

struct RecordHead {
  uint32_t magic;
  uint32_t size;
};
struct ExtraContext {
  RecordHead head;
  uint64_t datap;
  uint32_t size;
  uint32_t reserved[3];
};

ucontext_t* uctx(void* ctx) { return static_cast<ucontext_t*>(ctx); }
const ucontext_t* uctx(const void* ctx) { return static_cast<const ucontext_t*>(ctx); }

// A switch frame as gort_swapcontext leaves it, with the default FP mode
// (FPCR 0: round to nearest, no traps), not the creator's.
uint64_t* zeroSwitchFrame(uintptr_t sp) {
  auto* frame = reinterpret_cast<uint64_t*>(sp);
  std::memset(frame, 0, SWITCH_FRAME);
  return frame;
}

// Bytes of the signal context from uc to the end of its extra data, or 0 if
// its records do not parse as the kernel lays them out. The extra data
// follows the ucontext; a copy keeps it at the same offset.
size_t signalContextBytes(const ucontext_t* uc) {
  const auto* area = reinterpret_cast<const char*>(uc->uc_mcontext.__reserved);
  const size_t areaBytes = sizeof(uc->uc_mcontext.__reserved);
  auto base = reinterpret_cast<uintptr_t>(uc);
  size_t bytes = sizeof(ucontext_t);
  for (size_t off = 0; off + sizeof(RecordHead) <= areaBytes;) {
    RecordHead h;
    std::memcpy(&h, area + off, sizeof h);
    if (h.magic == 0) return bytes;  // the terminator
    if (h.size < sizeof(RecordHead) || h.size % 16 != 0 || h.size > areaBytes - off) return 0;
    if (h.magic == kExtraMagic) {
      ExtraContext e;
      std::memcpy(&e, area + off, sizeof e);
      if (e.datap < base + sizeof(ucontext_t) || e.datap + e.size - base > kMaxFrameCopy) return 0;
      bytes = size_t(e.datap + e.size - base);
    }
    off += h.size;
  }
  return 0;  // no terminator
}

// The copy's extra_context record points at the copy's own extra data.
void relocateExtra(ucontext_t* copy, intptr_t delta) {
  auto* area = reinterpret_cast<char*>(copy->uc_mcontext.__reserved);
  for (size_t off = 0;;) {
    RecordHead h;
    std::memcpy(&h, area + off, sizeof h);
    if (h.magic == 0) return;
    if (h.magic == kExtraMagic) {
      uint64_t datap;
      std::memcpy(&datap, area + off + offsetof(ExtraContext, datap), sizeof datap);
      datap += uint64_t(delta);
      std::memcpy(area + off + offsetof(ExtraContext, datap), &datap, sizeof datap);
    }
    off += h.size;
  }
}

}  // namespace

void gostartInit(g* gp) {
  uintptr_t sp = gp->stk.hi - 16;  // the top 16 bytes stay a sentinel
  sp -= SWITCH_FRAME;
  uint64_t* frame = zeroSwitchFrame(sp);
  frame[SWITCH_X19 / 8] = reinterpret_cast<uint64_t>(gp);  // gort_gostart's argument
  frame[SWITCH_X30 / 8] = reinterpret_cast<uint64_t>(&gort_gostart);
  gp->sched.sp = sp;
}

uintptr_t traceFrame(uintptr_t savedSp, void* request) {
  // Well below the saved sp, clear of anything the suspended G owns.
  uintptr_t sp = ((savedSp - 512) & ~uintptr_t(15)) - SWITCH_FRAME;
  uint64_t* frame = zeroSwitchFrame(sp);
  frame[SWITCH_X19 / 8] = savedSp;  // the trampoline's CFA base
  frame[SWITCH_X19 / 8 + 1] = reinterpret_cast<uint64_t>(request);
  frame[SWITCH_X30 / 8] = reinterpret_cast<uint64_t>(&gort_trace_trampoline);
  return sp;
}

int64_t cputicks() {
  uint64_t t;
  asm volatile("mrs %0, cntvct_el0" : "=r"(t));
  return int64_t(t);
}

// The kernel's signal frame carries the whole state: nothing to size here.
bool asyncPreemptInit() { return true; }

uintptr_t sigctxtPC(const void* ctx) { return uintptr_t(uctx(ctx)->uc_mcontext.pc); }
uintptr_t sigctxtSP(const void* ctx) { return uintptr_t(uctx(ctx)->uc_mcontext.sp); }
uintptr_t sigctxtFP(const void* ctx) { return uintptr_t(uctx(ctx)->uc_mcontext.regs[29]); }

// A frameless function (or one still in its prologue) has its return
// address in the link register.
uintptr_t sigctxtLeafReturnSlot(const void* ctx, uintptr_t, uintptr_t) { return uintptr_t(uctx(ctx)->uc_mcontext.regs[30]); }

// bl imm26 just before ret.
bool directCallTarget(uintptr_t ret, uintptr_t* target) {
  uint32_t insn = *reinterpret_cast<const uint32_t*>(ret - 4);
  if ((insn & 0xfc000000u) != 0x94000000u) return false;
  int64_t imm = int64_t(int32_t(insn << 6) >> 6) * 4;
  *target = ret - 4 + uintptr_t(imm);
  return true;
}

// The interrupted x30 and pc are stored in 16 bytes below sp - skip, x30
// becomes the interrupted pc, pc fn (the callee's CFI must say where both
// are: panic_arm64.S).
void sigctxtPushCall(void* ctx, uintptr_t fn, uintptr_t skip) {
  mcontext_t& mc = uctx(ctx)->uc_mcontext;
  uintptr_t sp = (uintptr_t(mc.sp) - skip - 16) & ~uintptr_t(15);
  auto* slot = reinterpret_cast<uint64_t*>(sp);
  slot[0] = mc.regs[30];
  slot[1] = mc.pc;
  mc.regs[30] = mc.pc;
  mc.sp = sp;
  mc.pc = fn;
}

void sigctxtSetArgs(void* ctx, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3) {
  mcontext_t& mc = uctx(ctx)->uc_mcontext;
  mc.regs[0] = a0;
  mc.regs[1] = a1;
  mc.regs[2] = a2;
  mc.regs[3] = a3;
}

bool sigctxtInjectPreempt(void* ctx, uintptr_t stackLo) {
  ucontext_t* uc = uctx(ctx);
  size_t bytes = signalContextBytes(uc);
  if (bytes == 0) return false;
  // No red zone in AAPCS64: the copy may start right below sp.
  uintptr_t frame = (uintptr_t(uc->uc_mcontext.sp) - bytes - SIGINFO_SIZE) & ~uintptr_t(15);
  if (frame < stackLo + kPreemptCallRoom) return false;
  auto* copy = reinterpret_cast<ucontext_t*>(frame + SIGINFO_SIZE);
  std::memcpy(copy, uc, bytes);
  relocateExtra(copy, reinterpret_cast<intptr_t>(copy) - reinterpret_cast<intptr_t>(uc));
  mcontext_t& mc = uc->uc_mcontext;
  mc.sp = frame;
  mc.regs[19] = reinterpret_cast<uint64_t>(copy);
  mc.pc = reinterpret_cast<uint64_t>(&gort_async_preempt);
  return true;
}

void sigctxtDumpRegs(const void* ctx, Printer& out) {
  const mcontext_t& mc = uctx(ctx)->uc_mcontext;
  out << "\n";
  for (int i = 0; i < 30; i++) {
    out << "r" << i << (i < 10 ? "      " : "     ") << Hex{mc.regs[i]} << "\n";
  }
  out << "lr      " << Hex{mc.regs[30]} << "\n";
  out << "sp      " << Hex{mc.sp} << "\n";
  out << "pc      " << Hex{mc.pc} << "\n";
  out << "fault   " << Hex{mc.fault_address} << "\n";
}

}  // namespace gort::internal

// The stub's last C step, on the thread that resumes the goroutine:
// rt_sigreturn installs the copy's signal mask and alternate signal stack,
// which must be this thread's, not those of the thread it was preempted on.
extern "C" void gort_async_preempt_return(ucontext_t* uc) {
  pthread_sigmask(SIG_SETMASK, nullptr, &uc->uc_sigmask);
  sigaltstack(nullptr, &uc->uc_stack);
}
