// cpuprof.cpp: CPU profiling's sampling (mirrors runtime/cpuprof.go and the
// timer half of signal_unix.go / os_linux.go).
//
// Every M that runs goroutines owns a POSIX timer on its own thread's CPU
// clock (timer_create(CLOCK_THREAD_CPUTIME_ID) delivering SIGPROF to that
// thread, SIGEV_THREAD_ID), as Go 1.18+ does: a process-wide setitimer
// would hand the signal to whichever thread the kernel picks and undercount
// busy threads. An M compares its timer's rate with cpuprofHz whenever it
// starts running a goroutine (proc.cpp's execute) and re-arms or deletes
// it there, on its own thread; an M that is idle burns no CPU and so needs
// no timer until it runs again. The first expiry is spread at random over
// one period so threads do not tick in step.
//
// The handler (sigprof) is async-signal-safe: no malloc, no lock, no
// libbacktrace. It records the interrupted pc and walks the frame-pointer
// chain from the interrupted frame pointer, accepting a frame only while it
// lies inside the stack the interrupted sp is on (the running goroutine's
// [stk.lo, stk.hi), or the M's g0 stack), word aligned and moving outward;
// anything else (foreign code built without frame pointers, a thread that
// is not an M) ends the walk, leaving the frames found so far (at least the
// pc). The stack and the goroutine's label set (retained) go into the
// ProfBuf ring; pprof's writer drains and symbolises them later.
//
// Frame pointers: gort and everything that links it are compiled with
// -fno-omit-frame-pointer -mno-omit-leaf-frame-pointer (CMakeLists.txt),
// as Go always keeps them. GCC 12 still gives leaf functions no frame, and
// a function in its prologue has not pushed its frame yet; in both the
// frame-pointer chain starts at the caller's caller. So before the walk the
// handler looks at where a frameless function's return address would be
// (the word at sp on amd64, the link register on arm64) and keeps it as the
// caller if it lies in the program's text (ranges read once at profile
// start, dl_iterate_phdr) right after a direct call whose target is at most
// kLeafMax bytes below the pc: the signature of "pc is in the function that
// call entered". A framed function whose top of stack happens to hold such
// an address would get one bogus frame; rare, and only ever one.
//
// Lock order: none; the handler takes nothing, setThreadCPUProfiler only
// makes system calls.
#include "runtime/cpuprof.hpp"

#include <link.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>

#include "gort/runtime_prof.hpp"
#include "runtime/arch.hpp"
#include "runtime/print.hpp"
#include "runtime/proc.hpp"
#include "runtime/sigqueue.hpp"
#include "runtime/traceback.hpp"

namespace gort::internal {

std::atomic<int32_t> cpuprofHz{0};

void setThreadCPUProfiler(m* mp) {
  int32_t hz = cpuprofHz.load(std::memory_order_relaxed);
  if (mp->proftimerSet) {
    timer_delete(static_cast<timer_t>(mp->proftimer));
    mp->proftimerSet = false;
  }
  mp->profilehz = hz;
  if (hz <= 0) return;
  sigevent sev{};
  sev.sigev_notify = SIGEV_THREAD_ID;
  sev.sigev_signo = SIGPROF;
  sev._sigev_un._tid = int(syscall(SYS_gettid));
  timer_t t;
  if (timer_create(CLOCK_THREAD_CPUTIME_ID, &sev, &t) != 0) return;  // no timer: this thread goes unsampled
  const int64_t period = 1000000000 / hz;
  itimerspec its{};
  its.it_interval.tv_sec = period / 1000000000;
  its.it_interval.tv_nsec = period % 1000000000;
  int64_t first = 1 + int64_t(fastrandn(uint32_t(period)));
  its.it_value.tv_sec = first / 1000000000;
  its.it_value.tv_nsec = first % 1000000000;
  timer_settime(t, 0, &its, nullptr);
  mp->proftimer = t;
  mp->proftimerSet = true;
}

void threadCPUProfilerExit(m* mp) {
  if (mp->proftimerSet) timer_delete(static_cast<timer_t>(mp->proftimer));
  mp->proftimerSet = false;
  mp->profilehz = 0;
}

namespace {

constexpr uintptr_t kLeafMax = 64 << 10;

// Executable segments of the loaded objects, for the leaf check: written
// before profiling starts (ntext published last), read by handlers.
struct TextRange {
  uintptr_t lo, hi;
};
TextRange textRanges[256];
std::atomic<int> ntext{0};

void loadTextRanges() {
  if (ntext.load(std::memory_order_acquire) != 0) return;
  static int n = 0;
  dl_iterate_phdr(
      [](dl_phdr_info* info, size_t, void*) {
        for (int i = 0; i < info->dlpi_phnum && n < int(std::size(textRanges)); i++) {
          const ElfW(Phdr)& ph = info->dlpi_phdr[i];
          if (ph.p_type != PT_LOAD || !(ph.p_flags & PF_X)) continue;
          uintptr_t lo = info->dlpi_addr + ph.p_vaddr;
          textRanges[n++] = {lo, lo + ph.p_memsz};
        }
        return 0;
      },
      nullptr);
  ntext.store(n, std::memory_order_release);
}

bool inText(uintptr_t a) {
  int n = ntext.load(std::memory_order_acquire);
  for (int i = 0; i < n; i++) {
    if (a >= textRanges[i].lo && a < textRanges[i].hi) return true;
  }
  return false;
}

// The return address of a frameless function interrupted at pc, or 0.
uintptr_t leafCaller(const void* ctx, uintptr_t pc, uintptr_t lo, uintptr_t hi) {
  uintptr_t ret = sigctxtLeafReturnSlot(ctx, lo, hi), target;
  if (ret < 8 || !inText(ret - 8) || !inText(ret - 1)) return 0;
  if (!directCallTarget(ret, &target) || target > pc || pc - target >= kLeafMax) return 0;
  return ret;
}

}  // namespace

void sigprof(int sig, siginfo_t* info, void* ctx) {
  if (info->si_code == SI_USER || info->si_code == SI_TKILL || info->si_code == SI_QUEUE) {
    // kill(2) and friends, not a timer (SI_TIMER): for os/signal, if it listens
    sigsend(sig);
    return;
  }
  if (cpuprofHz.load(std::memory_order_relaxed) == 0) return;  // a timer not yet deleted
  int savedErrno = errno;
  uintptr_t pcs[kProfMaxStack];
  int n = 0;
  // The interrupted pc is not a return address; +1 lets every pc be read as
  // one (symbolised at pc-1), as the walk's are.
  pcs[n++] = sigctxtPC(ctx) + 1;
  uintptr_t sp = sigctxtSP(ctx), lo = 0, hi = 0;
  ProfLabels* labels = nullptr;
  g* gp = getg();
  if (m* mp = gp ? gp->mp : nullptr) {
    g* cur = mp->curg;
    if (cur && sp >= cur->stk.lo && sp < cur->stk.hi) {
      lo = cur->stk.lo;
      hi = cur->stk.hi;
    } else if (sp >= mp->g0StackLo && sp < mp->g0StackHi) {
      lo = mp->g0StackLo;
      hi = mp->g0StackHi;
    }
    if (cur && gp == cur) labels = labelsRetain(cur->labels);
  }
  if (hi != 0) {
    uintptr_t leaf = leafCaller(ctx, pcs[0] - 1, lo, hi);
    if (leaf) pcs[n++] = leaf;
    int from = n;
    n = fpwalk(sigctxtFP(ctx), lo, hi, 0, pcs, n, kProfMaxStack);
    if (leaf && n > from && pcs[from] == leaf) {  // it had a frame after all
      for (int i = from; i + 1 < n; i++) pcs[i] = pcs[i + 1];
      n--;
    }
  }
  if (!cpuProfBuf()->write(pcs, n, labels) && labels) {
    // Never the last reference: the goroutine still holds one.
    labels->refs.fetch_sub(1, std::memory_order_relaxed);
  }
  errno = savedErrno;
}

bool cpuprofRead(ProfRecord* out) { return cpuProfBuf()->read(out); }
uint64_t cpuprofLost() { return cpuProfBuf()->takeOverflow(); }

}  // namespace gort::internal

namespace gort::runtime {

void SetCPUProfileRate(int hz) {
  using namespace internal;
  if (hz < 0) hz = 0;
  if (hz > 1000000) hz = 1000000;
  RuntimeEntry entry;  // not preempted while it re-arms this thread's timer
  int32_t cur = cpuprofHz.load(std::memory_order_relaxed);
  if (hz > 0 && cur > 0) {
    printstr("runtime: cannot set cpu profile rate until previous profile has finished.\n");
    return;
  }
  if (hz > 0) {
    // Map the ring before any handler may look for it, and drop what a
    // handler that outlived the last profile left there.
    loadTextRanges();
    ProfBuf* buf = cpuProfBuf();
    ProfRecord r;
    while (buf->read(&r)) labelsRelease(r.labels);
    buf->takeOverflow();
  }
  cpuprofHz.store(hz, std::memory_order_release);
  // The calling thread re-arms now, the other Ms as they next run a goroutine.
  if (g* gp = getg(); gp && gp->mp) setThreadCPUProfiler(gp->mp);
}

}  // namespace gort::runtime
