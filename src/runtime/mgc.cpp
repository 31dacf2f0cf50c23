// mgc.cpp: the collection cycle, its pacing and its public controls
// (mirrors runtime/mgc.go and the heap-goal half of mgcpacer.go).
//
// A cycle, with the world stopped from start to end:
//   sweep termination  every span of the last cycle swept, new mark bits;
//   mark               mgcmark.cpp, with the goroutines running without a
//                      P suspended and foreign threads held at the mark gate;
//   sweep start        the mcaches flushed, sweepgen moved on: the spans
//                      are swept lazily (mgcsweep.cpp) and the destructors
//                      of what they free queued (mfinal.cpp).
// Each stack is scanned once per cycle, with its goroutine stopped. Marking
// concurrently with the mutator (the hybrid barrier, MEMORY.md §2.3) is the
// next step; this cycle is its stop-the-world limit and its oracle.
//
// Pacing (Go 1.19's goal): a cycle starts when heapLive has covered 70% of
// the way from the last marked heap to
//   goal = marked + (marked + stacks + roots) * GOGC/100
// (at least 4 MiB * GOGC/100), lowered to what GOMEMLIMIT leaves the heap
// once the runtime's other memory is counted, never below what the last
// cycle found live. GOGC=off with no limit never collects on its own.
//
// Who collects: the goroutine whose allocation crosses the trigger, after
// its allocation (gcMaybeStart), as Go's mallocgc calls gcStart; and
// runtime::GC's caller. Threads the scheduler does not run never start a
// cycle: the next goroutine to allocate does. startSema admits one cycle at
// a time.
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <mutex>

#include "gort/debug.hpp"
#include "gort/runtime.hpp"
#include "runtime/lock_futex.hpp"
#include "runtime/malloc.hpp"
#include "runtime/mcache.hpp"
#include "runtime/mgc.hpp"
#include "runtime/mheap.hpp"
#include "runtime/os_linux.hpp"
#include "runtime/panic.hpp"
#include "runtime/print.hpp"
#include "runtime/proc.hpp"
#include "runtime/runtime1.hpp"
#include "runtime/sema.hpp"
#include "runtime/time.hpp"
#include "runtime/trace.hpp"

namespace gort::internal {

GCController gcController;
std::atomic<bool> gcMarking{false};

namespace {

constexpr uint64_t kHeapMinimum = 4 << 20;
constexpr int64_t kNoLimit = INT64_MAX;

std::atomic<int32_t> gcPercent{100};
std::atomic<int64_t> memoryLimit{kNoLimit};
std::atomic<uint32_t> startSema{1};

// What ReadMemStats reports of the cycles (statsLock).
struct CycleStats {
  std::mutex lock;
  uint32_t numGC = 0, numForcedGC = 0;
  uint64_t pauseTotalNs = 0, lastGC = 0;
  uint64_t pauseNs[256] = {}, pauseEnd[256] = {};
  int64_t cpuNs = 0;  // time the collector kept every P stopped, times the Ps
};
CycleStats cycleStats;

uint64_t nonHeapMemory() {
  HeapStats& h = heapStats();
  auto get = [](const std::atomic<uint64_t>& v) { return v.load(std::memory_order_relaxed); };
  return get(h.stackInuse) + get(h.spanSys) + get(h.cacheSys) + get(h.gcSys) + get(h.otherSys);
}

uint64_t computeGoal(uint64_t marked) {
  uint64_t goal = UINT64_MAX;
  int32_t pct = gcPercent.load(std::memory_order_relaxed);
  if (pct >= 0) {
    uint64_t scan = marked + gcStackScanBytes() + gcRootCount() * 8;
    goal = marked + scan * uint64_t(pct) / 100;
    uint64_t minimum = kHeapMinimum * uint64_t(pct) / 100;
    if (goal < minimum) goal = minimum;
  }
  int64_t limit = memoryLimit.load(std::memory_order_relaxed);
  if (limit != kNoLimit) {
    // Leave 3% of the limit (at least 1 MiB) as headroom, as Go does.
    uint64_t headroom = uint64_t(limit) / 100 * 3;
    if (headroom < (1 << 20)) headroom = 1 << 20;
    uint64_t other = nonHeapMemory() + headroom;
    uint64_t limitGoal = uint64_t(limit) > other ? uint64_t(limit) - other : 0;
    if (limitGoal < goal) goal = limitGoal;
  }
  if (goal < marked + (1 << 20)) goal = marked + (1 << 20);  // room for at least a MiB of allocation
  return goal;
}

// The next cycle starts when 70% of the runway to the goal is spent, so
// that its concurrent marking ends near the goal (Go's minimum trigger).
void setGoal(uint64_t marked) {
  uint64_t goal = computeGoal(marked);
  gcController.heapGoal.store(goal, std::memory_order_relaxed);
  gcController.trigger.store(marked + (goal - marked) / 10 * 7, std::memory_order_relaxed);
}

bool enabled() {
  return gcPercent.load(std::memory_order_relaxed) >= 0 || memoryLimit.load(std::memory_order_relaxed) != kNoLimit;
}

// Go's fmtNSAsMS: whole milliseconds from 10 ms up, else two significant
// digits and at most three decimals.
// Go's fmtNSAsMS: whole milliseconds from 10 ms up, else two significant
// digits and at most three decimals.
struct Ms {
  int64_t ns;
};
Printer& operator<<(Printer& out, Ms ms) {
  if (ms.ns >= 10'000'000) return out << ms.ns / 1'000'000;
  int64_t x = ms.ns / 1000, scale = 1000;
  while (x >= 100) {
    x /= 10;
    scale /= 10;
  }
  if (x == 0 || scale == 1) return out << x;
  out << x / scale << '.';
  for (int64_t d = scale / 10; d > 0; d /= 10) out << char('0' + x / d % 10);
  return out;
}

struct CycleTimes {
  int64_t start, stopped, marked, done;
  uint64_t heapBefore, marked_, goal;
  bool forced;
};

void printTrace(const CycleTimes& t, uint32_t n, int32_t procs) {
  int64_t cpu;
  {
    std::lock_guard<std::mutex> guard(cycleStats.lock);
    cpu = cycleStats.cpuNs;
  }
  int64_t elapsed = t.done - runtimeNanotimeStart();
  int64_t pct = elapsed > 0 ? cpu * 100 / (elapsed * procs) : 0;
  int64_t sinceStartMs = (t.start - runtimeNanotimeStart()) / 1'000'000;
  char buf[256];
  Printer out(buf, 2);
  out << "gc " << n << " @" << sinceStartMs / 1000 << '.' << char('0' + sinceStartMs / 100 % 10)
      << char('0' + sinceStartMs / 10 % 10) << char('0' + sinceStartMs % 10) << "s " << pct << "%: ";
  int64_t stw1 = t.stopped - t.start, mark = t.marked - t.stopped, stw2 = t.done - t.marked;
  out << Ms{stw1} << '+' << Ms{mark} << '+' << Ms{stw2} << " ms clock, ";
  out << Ms{stw1 * procs} << "+0/" << Ms{mark} << "/0+" << Ms{stw2 * procs} << " ms cpu, ";
  out << (t.heapBefore >> 20) << "->" << (t.heapBefore >> 20) << "->" << (t.marked_ >> 20) << " MB, "
      << (t.goal >> 20) << " MB goal, " << (gcStackScanBytes() >> 20)
      << " MB stacks, " << (gcRootCount() * 8 >> 20) << " MB globals, " << procs << " P"
      << (t.forced ? " (forced)" : "") << '\n';
}

void recordCycle(const CycleTimes& t, int64_t pauseNs, int32_t procs) {
  std::lock_guard<std::mutex> guard(cycleStats.lock);
  auto pause = uint64_t(pauseNs);
  uint32_t i = cycleStats.numGC % 256;
  cycleStats.pauseNs[i] = pause;
  timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  uint64_t unixNs = uint64_t(now.tv_sec) * 1'000'000'000 + uint64_t(now.tv_nsec);
  cycleStats.pauseEnd[i] = unixNs;
  cycleStats.lastGC = unixNs;
  cycleStats.pauseTotalNs += pause;
  cycleStats.numGC++;
  if (t.forced) cycleStats.numForcedGC++;
  cycleStats.cpuNs += int64_t(pause) * procs + (t.marked - t.stopped);  // the pauses, and one worker
}

// The cycle in progress (startSema orders its steps).
struct Cycle {
  CycleTimes t{};
  int64_t stw1 = 0;  // the snapshot's pause
};
Cycle cycle;
std::atomic<bool> markWorkDone{false};

// Allocation past this while marking makes the allocating goroutine help.
uint64_t assistThreshold() {
  uint64_t goal = gcController.heapGoal.load(std::memory_order_relaxed);
  return goal + goal / 4;
}

// The snapshot: sweep termination, then the roots greyed with every
// mutator held still, then marking on. Returns false if it could not be
// taken (a thread did not stop); nothing then changes but the sweep.
bool startCycle(bool forced) {
  Cycle& c = cycle;
  c.t = CycleTimes{};
  c.t.forced = forced;
  c.t.heapBefore = gcController.heapLive.load(std::memory_order_relaxed);
  c.t.goal = gcController.heapGoal.load(std::memory_order_relaxed);
  finishSweep();
  c.t.start = nanotime();
  stopTheWorld("GC");
  traceGCSTWStart(1);
  sweepTermination();
  bool ok;
  {
    gcLockSpecials();
    lockGuard noP(sharedCacheLock());  // allocators without a P wait, then allocate black
    gcCloseGate();
    gcLockRoots();
    gcLockDestructors();
    ok = gcMarkRoots();
    if (ok) {
      traceGCStart();
      traceHeapAlloc(c.t.heapBefore);
      markWorkDone.store(false, std::memory_order_relaxed);
      gcMarking.store(true, std::memory_order_seq_cst);
      gcController.trigger.store(assistThreshold(), std::memory_order_relaxed);
    }
    gcUnlockDestructors();
    gcUnlockRoots();
    gcOpenGate();
  }
  gcUnlockSpecials();
  traceGCSTWDone();
  startTheWorld();
  c.t.stopped = nanotime();
  c.stw1 = c.t.stopped - c.t.start;
  if (ok) gcWakeWorker();
  return ok;
}

// Mark termination: the worker idle, the world stopped, the gate closed,
// the last grey objects scanned, then the sweep cycle begins.
void finishCycle() {
  Cycle& c = cycle;
  gcStopWorker();
  c.t.marked = nanotime();
  stopTheWorld("GC mark termination");
  traceGCSTWStart(0);
  gcLockSpecials();
  gcCloseGate();
  gcDrain(nullptr);
  if (debug.gccheckmark) {
    lockGuard noP(sharedCacheLock());
    gcLockRoots();
    gcLockDestructors();
    gcCheckMarks();
    gcUnlockDestructors();
    gcUnlockRoots();
  }
  gcLockDestructors();
  bool queuedFinalizers = gcProcessSpecials();
  gcUnlockDestructors();
  uint64_t marked = gcMarkedBytes();
  gcMarking.store(false, std::memory_order_seq_cst);
  gcUnlockSpecials();  // after marking ends: nothing it lets in shades an object
  startSweepCycle();
  gcController.heapMarked = marked;
  gcController.heapLive.store(marked, std::memory_order_relaxed);
  setGoal(marked);
  traceGCDone();
  traceHeapAlloc(marked);
  traceHeapGoal(gcController.heapGoal.load(std::memory_order_relaxed));
  gcOpenGate();
  int32_t procs = gomaxprocs.load(std::memory_order_relaxed);
  traceGCSTWDone();
  startTheWorld();
  c.t.done = nanotime();
  c.t.marked_ = marked;
  recordCycle(c.t, c.stw1 + (c.t.done - c.t.marked), procs);
  if (debug.gctrace > 0) printTrace(c.t, cycleStats.numGC, procs);
  if (queuedFinalizers) wakeFinalizers();  // after the cycle counts: a finalizer sees it in MemStats
}

// The calling goroutine scans grey objects until there are none (or mark
// termination begins elsewhere).
void assist() { gcDrain(gcStopping()); }

void gcStart(bool forced) {
  RuntimeEntry entry;
  semacquire(&startSema);
  if (!gcMarking.load(std::memory_order_relaxed) &&
      (forced || gcController.heapLive.load(std::memory_order_relaxed) >=
                     gcController.trigger.load(std::memory_order_relaxed))) {
    startCycle(forced);
  }
  semrelease(&startSema);
}

// Ends the cycle if its marking is done; a cycle that started while this
// goroutine waited for startSema is left to mark.
void gcFinish() {
  RuntimeEntry entry;
  semacquire(&startSema);
  if (gcMarking.load(std::memory_order_relaxed) && markWorkDone.load(std::memory_order_acquire)) finishCycle();
  semrelease(&startSema);
}

// Helps the cycle's marking until the worker has found nothing left, then
// ends the cycle (runtime::GC). While the worker still scans what it took,
// the caller yields its P (a stop-the-world may be waiting for it), then
// sleeps a little longer each time rather than spin on the P.
void gcFinishMarking() {
  int64_t nap = 0;
  while (gcMarking.load(std::memory_order_acquire) && !markWorkDone.load(std::memory_order_acquire)) {
    {
      RuntimeEntry entry;
      assist();
    }
    if (markWorkDone.load(std::memory_order_acquire)) break;
    if (nap == 0) {
      runtime::Gosched();
      nap = 1000;
    } else {
      timeSleep(nap);
      nap = std::min<int64_t>(nap * 2, 100 * 1000);
    }
  }
  gcFinish();
}

// Go's atoi32: an optional '-', decimal digits, nothing else, in range.
bool atoi32(const char* s, int32_t* out) {
  bool neg = *s == '-';
  if (neg) s++;
  if (!*s) return false;
  int64_t v = 0;
  for (; *s; s++) {
    if (*s < '0' || *s > '9') return false;
    v = v * 10 + (*s - '0');
    if (v > int64_t(INT32_MAX) + 1) return false;
  }
  if (neg) v = -v;
  if (v < INT32_MIN || v > INT32_MAX) return false;
  *out = int32_t(v);
  return true;
}

// Go's parseByteCount: digits, optionally followed by B, KiB, MiB, GiB or
// TiB; no sign, no overflow.
bool parseByteCount(const char* s, int64_t* out) {
  size_t n = strlen(s);
  if (n == 0) return false;
  uint64_t mult = 1;
  size_t digits = n;
  if (s[n - 1] == 'B') {
    digits = n - 1;
    if (n >= 4 && s[n - 2] == 'i') {
      const char* units = "KMGT";
      const char* u = strchr(units, s[n - 3]);
      if (!u || !*u) return false;
      for (const char* k = units; k <= u; k++) mult *= 1024;
      digits = n - 3;
    }
  }
  if (digits == 0) return false;
  uint64_t v = 0;
  for (size_t i = 0; i < digits; i++) {
    if (s[i] < '0' || s[i] > '9') return false;
    if (v > (UINT64_MAX - 9) / 10) return false;
    v = v * 10 + uint64_t(s[i] - '0');
  }
  if (v > UINT64_MAX / mult || v * mult > uint64_t(INT64_MAX)) return false;
  *out = int64_t(v * mult);
  return true;
}

}  // namespace

void gcNoteAlloc(uint64_t bytes) {
  uint64_t live = gcController.heapLive.fetch_add(bytes, std::memory_order_relaxed) + bytes;
  traceHeapAlloc(live);
}
void gcNoteUncached(uint64_t bytes) {
  uint64_t live = gcController.heapLive.fetch_sub(bytes, std::memory_order_relaxed) - bytes;
  traceHeapAlloc(live);
}

void gcMarkWorkDone() {
  markWorkDone.store(true, std::memory_order_release);
  gcController.trigger.store(0, std::memory_order_relaxed);  // the next allocation ends the cycle
}

void gcMaybeStart() {
  if (gcController.heapLive.load(std::memory_order_relaxed) < gcController.trigger.load(std::memory_order_relaxed)) {
    return;
  }
  g* gp = getg();
  if (!gp || gp == gp->mp->g0 || gp->mp->locks != 0 || !gp->mp->pp) return;
  if (gcMarking.load(std::memory_order_acquire)) {
    // Past the assist threshold: help, and end the cycle once the worker
    // is done (ending it earlier would leave the rest to the pause).
    if (!markWorkDone.load(std::memory_order_acquire)) {
      RuntimeEntry entry;
      assist();
    }
    if (markWorkDone.load(std::memory_order_acquire)) gcFinish();
    return;
  }
  if (enabled()) gcStart(false);
}

void gcinit() {
  const char* p = getenv("GOGC");
  int32_t pct;
  if (p && strcmp(p, "off") == 0) {
    gcPercent.store(-1);
  } else if (p && atoi32(p, &pct)) {
    gcPercent.store(pct < 0 ? -1 : pct);
  }
  p = getenv("GOMEMLIMIT");
  if (p && *p && strcmp(p, "off") != 0) {
    int64_t v;
    if (!parseByteCount(p, &v)) {
      printstr("GOMEMLIMIT=");
      printstr(p);
      printstr("\n");
      throw_("malformed GOMEMLIMIT; see `go doc runtime/debug.SetMemoryLimit`");
    }
    memoryLimit.store(v);
  }
  setGoal(0);
}

void readGCStats(runtime::MemStats* m) {
  std::lock_guard<std::mutex> guard(cycleStats.lock);
  m->NumGC = cycleStats.numGC;
  m->NumForcedGC = cycleStats.numForcedGC;
  m->PauseTotalNs = cycleStats.pauseTotalNs;
  m->LastGC = cycleStats.lastGC;
  std::memcpy(m->PauseNs, cycleStats.pauseNs, sizeof m->PauseNs);
  std::memcpy(m->PauseEnd, cycleStats.pauseEnd, sizeof m->PauseEnd);
  m->NextGC = gcController.heapGoal.load(std::memory_order_relaxed);
  int64_t elapsed = nanotime() - runtimeNanotimeStart();
  int32_t procs = gomaxprocs.load(std::memory_order_relaxed);
  m->GCCPUFraction = elapsed > 0 ? double(cycleStats.cpuNs) / double(elapsed * procs) : 0;
  m->EnableGC = true;
  m->DebugGC = false;
}

}  // namespace gort::internal

namespace gort::runtime {

void GC() {
  internal::ensureStarted();
  if (!internal::getg()) {
    internal::waitOnGoroutine([] { GC(); });
    return;
  }
  // A cycle already marking may have started before the call: finish it,
  // then run one of our own to its end, doing its marking here.
  internal::gcFinishMarking();
  internal::gcStart(true);
  internal::gcFinishMarking();
  internal::RuntimeEntry entry;
  internal::finishSweep();
}

}  // namespace gort::runtime

namespace gort::debug {

int SetGCPercent(int percent) {
  int32_t old = internal::gcPercent.exchange(percent < 0 ? -1 : percent);
  internal::setGoal(internal::gcController.heapMarked);
  return old;
}

int64_t SetMemoryLimit(int64_t limit) {
  int64_t old = internal::memoryLimit.load();
  if (limit >= 0) {
    internal::memoryLimit.store(limit);
    internal::setGoal(internal::gcController.heapMarked);
  }
  return old;
}

}  // namespace gort::debug
