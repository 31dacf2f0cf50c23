// preempt.cpp: goroutine preemption (mirrors runtime/preempt.go and the
// preemption half of signal_unix.go; proposal 24543).
//
// sysmon asks a goroutine that has run for more than 10 ms to yield
// (preemptone). The request is a flag the goroutine checks at its next
// runtime entry (cooperative) plus a SIGURG sent to its M (asynchronous),
// for code that never enters the runtime.
//
// The SIGURG handler preempts only at an async safe point, or the switch
// could break invariants the interrupted code relies on:
//   - the M runs a user goroutine (not g0), holds no runtime lock, is not in
//     mcall or any other runtime entry (m.inRuntime == 0: the goroutine runs
//     its own code), and the goroutine is running with a preemption request;
//   - the interrupted pc lies in the program's own text, outside gort's
//     runtime functions: never in libc, libstdc++, libgcc, the dynamic loader
//     or the vDSO (shared objects all), where a lock may be held or a
//     thread-local half updated;
//   - there is stack room for the register save area.
// Otherwise the handler returns and sysmon asks again 10 ms later.
//
// Telling runtime code from user code: at start-up we read the executable's
// symbol table and record the address ranges of gort's functions (mangled
// names in namespace gort, and the gort_ assembly). The templates through
// which user code runs (gort::go's closure, goEntry, gort::Run) are user code:
// a user loop is usually inlined into them. A stripped executable has no
// table: async preemption is then off, and only cooperative requests remain.
//
// At a safe point the handler rewrites the signal context so that the
// goroutine enters gort_async_preempt (asm_<arch>.S, sigctxtInjectPreempt)
// with every register saved on the goroutine stack (amd64: the stub pushes
// the general registers and the full xsave state; arm64: the handler copies
// the kernel's signal frame), yields through mcall and restores everything
// on resume, possibly on another M.
//
// Under the sanitizers async preemption is off: TSan defers signal handlers
// to its own safe points and runs them with a context we must not rewrite,
// and ASan's fiber-switch bookkeeping was seen to be entered twice when a
// switch began from a rewritten context. The path is tested in the normal
// build; the sanitizer builds keep cooperative preemption.
#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <string_view>
#include <vector>

#include "runtime/preempt.hpp"
#include "runtime/mgc.hpp"
#include "runtime/runtime1.hpp"
#include "runtime/sanitizer.hpp"
#include "runtime/sigqueue.hpp"

extern "C" void gort_async_preempt();

namespace gort::internal {

namespace {

constexpr int64_t kForcePreemptNs = 10 * 1000 * 1000;

struct Range {
  uintptr_t lo, hi;
};

bool asyncEnabled = false;
Range exeText{0, 0};
std::vector<Range>* runtimeText = nullptr;  // sorted, set once before any SIGURG

bool isRuntimeSymbol(std::string_view name) {
  static constexpr std::string_view kUserCodeTemplates[] = {
      "_ZN4gort2goI", "_ZZN4gort2goI", "_ZN4gort8internal7goEntryI", "_ZN4gort3RunI", "_ZZN4gort3RunI"};
  for (auto p : kUserCodeTemplates) {
    if (name.starts_with(p)) return false;
  }
  static constexpr std::string_view kRuntime[] = {"_ZN4gort", "_ZNK4gort", "_ZZN4gort", "_ZZNK4gort", "gort_"};
  for (auto p : kRuntime) {
    if (name.starts_with(p)) return true;
  }
  return false;
}

int findMainText(dl_phdr_info* info, size_t, void* data) {
  auto* bias = static_cast<uintptr_t*>(data);
  *bias = info->dlpi_addr;
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const auto& ph = info->dlpi_phdr[i];
    if (ph.p_type == PT_LOAD && (ph.p_flags & PF_X)) {
      exeText = {info->dlpi_addr + ph.p_vaddr, info->dlpi_addr + ph.p_vaddr + ph.p_memsz};
    }
  }
  return 1;  // the first object is the executable
}

// Sorts the ranges and merges those that overlap, so that a lookup finds
// the one range that covers a pc: a label inside a function (such as
// gort_swapcontext_resume inside gort_swapcontext) would otherwise be the
// last range starting below the function's later pcs, and hide them.
void coalesce(std::vector<Range>* ranges) {
  std::sort(ranges->begin(), ranges->end(), [](Range a, Range b) { return a.lo < b.lo; });
  size_t out = 0;
  for (const Range& r : *ranges) {
    if (out > 0 && r.lo <= (*ranges)[out - 1].hi) {
      (*ranges)[out - 1].hi = std::max((*ranges)[out - 1].hi, r.hi);
    } else {
      (*ranges)[out++] = r;
    }
  }
  ranges->resize(out);
}

// Reads the executable's symbol table into runtimeText. False if it has none.
bool loadRuntimeText(uintptr_t bias) {
  int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  struct stat st;
  if (fstat(fd, &st) != 0 || size_t(st.st_size) < sizeof(Elf64_Ehdr)) {
    close(fd);
    return false;
  }
  void* map = mmap(nullptr, size_t(st.st_size), PROT_READ, MAP_PRIVATE, fd, 0);
  close(fd);
  if (map == MAP_FAILED) return false;
  auto* base = static_cast<const char*>(map);
  auto* eh = reinterpret_cast<const Elf64_Ehdr*>(base);
  auto* sh = reinterpret_cast<const Elf64_Shdr*>(base + eh->e_shoff);
  auto* ranges = new std::vector<Range>();
  for (int i = 0; i < eh->e_shnum; i++) {
    if (sh[i].sh_type != SHT_SYMTAB) continue;
    auto* syms = reinterpret_cast<const Elf64_Sym*>(base + sh[i].sh_offset);
    const char* strtab = base + sh[sh[i].sh_link].sh_offset;
    size_t n = sh[i].sh_size / sizeof(Elf64_Sym);
    for (size_t k = 0; k < n; k++) {
      const Elf64_Sym& s = syms[k];
      if (s.st_shndx == SHN_UNDEF || s.st_value == 0) continue;
      int type = ELF64_ST_TYPE(s.st_info);
      if (type != STT_FUNC && type != STT_NOTYPE) continue;
      if (!isRuntimeSymbol(strtab + s.st_name)) continue;
      // An assembly label has no size; it lies inside the function that
      // covers it, or stands for one byte of its own.
      ranges->push_back({bias + s.st_value, bias + s.st_value + (s.st_size ? s.st_size : 1)});
    }
  }
  munmap(map, size_t(st.st_size));
  if (ranges->empty()) {
    delete ranges;
    return false;
  }
  coalesce(ranges);
  runtimeText = ranges;
  return true;
}

}  // namespace

// Async-signal-safe: binary search over an immutable table.
bool inRuntimeText(uintptr_t pc) {
  if (!runtimeText) return false;
  const auto& r = *runtimeText;
  auto it = std::upper_bound(r.begin(), r.end(), pc, [](uintptr_t v, Range x) { return v < x.lo; });
  if (it == r.begin()) return false;
  --it;
  return pc < it->hi;
}

namespace {

bool inAsmStub(uintptr_t pc) {
  // The preemption stub and switch code are gort_ symbols, but a zero-sized
  // label covers one byte: check the stub explicitly.
  auto stub = reinterpret_cast<uintptr_t>(&gort_async_preempt);
  return pc >= stub && pc < stub + 512;
}


bool asyncSafePoint(g* gp, uintptr_t pc, uintptr_t sp) {
  m* mp = gp->mp;
  if (!mp || mp->curg != gp || mp->locks != 0 || mp->mcallfn != nullptr) return false;
  // Inside a runtime entry (a switch half done, a lock about to be taken):
  // only this M's thread writes inRuntime, so the handler reads it exactly.
  if (mp->inRuntime.load(std::memory_order_relaxed) != 0) return false;
  if (gp->atomicstatus.load(std::memory_order_relaxed) != Grunning) return false;
  if (pc < exeText.lo || pc >= exeText.hi) return false;  // shared objects, vDSO
  if (inRuntimeText(pc) || inAsmStub(pc)) return false;
  return sp >= gp->stk.lo + kPreemptStackRoom && sp <= gp->stk.hi;
}

void onSigurg(int sig, siginfo_t*, void* ctx) {
  if (gcSuspendHandler(ctx)) return;
  sigsend(sig);  // os/signal may listen to SIGURG too; preemption goes on
  g* gp = getg();
  if (!gp || !gp->preempt || debug.asyncpreemptoff) return;
  if (!asyncSafePoint(gp, sigctxtPC(ctx), sigctxtSP(ctx))) return;
  sigctxtInjectPreempt(ctx, gp->stk.lo);
}

}  // namespace

std::atomic<uint64_t> asyncPreemptions{0};

void initPreemption() {
  struct sigaction sa {};
  sa.sa_sigaction = onSigurg;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART;
  sigfillset(&sa.sa_mask);
  sigaction(SIGURG, &sa, nullptr);
  if (san::kAny || !asyncPreemptInit()) return;
  uintptr_t bias = 0;
  dl_iterate_phdr(findMainText, &bias);
  asyncEnabled = exeText.hi != 0 && loadRuntimeText(bias);
}

bool asyncPreemptAvailable() { return asyncEnabled && !debug.asyncpreemptoff; }

void preemptone(p* pp) {
  m* mp = pp->mp;
  if (!mp) return;
  g* gp = mp->curg;
  if (!gp || gp == mp->g0) return;
  gp->preempt = true;
  if (asyncPreemptAvailable() && mp->tid) syscall(SYS_tgkill, getpid(), mp->tid, SIGURG);
}

void preemptLongRunning(int64_t now) {
  int32_t procs = gomaxprocs.load(std::memory_order_acquire);
  p** ps = allp;
  for (int32_t i = 0; i < procs; i++) {
    p* pp = ps[i];
    if (pp->status.load(std::memory_order_relaxed) != Prunning) continue;
    uint32_t tick = pp->schedtick;
    if (pp->sysmonSchedtick != tick) {
      pp->sysmonSchedtick = tick;
      pp->sysmonSchedwhen = now;
    } else if (now - pp->sysmonSchedwhen >= kForcePreemptNs) {
      preemptone(pp);
    }
  }
}

void checkPreempt() {
  g* gp = getg();
  if (gp && gp->preempt && gp->mp && gp->mp->curg == gp && gp->mp->locks == 0) gopreempt();
}

}  // namespace gort::internal

// The stub's C half, on the preempted goroutine's stack.
extern "C" void gort_async_preempt2() {
  gort::internal::asyncPreemptions.fetch_add(1, std::memory_order_relaxed);
  gort::internal::gopreempt();
}
