// mprof.cpp: the heap (allocs), block and mutex profiles' records, and the
// threadcreate profile's (mirrors runtime/mprof.go).
//
// Each profile is a table from a call stack (return addresses, innermost
// first) to counters: allocations and frees, or events and nanoseconds
// waited. Records are added under profLock (a leaf: the hooks take it with
// an allocator or semaphore lock possibly held) and copied out under it.
// Tables only grow, as Go's buckets do (a stack seen once is kept).
//
// Heap sampling (profilealloc): each mcache counts down the bytes until its
// next sample (nextSample), an exponentially distributed distance with mean
// MemProfileRate, so sampled allocations form a Poisson process over the
// bytes allocated and the profile can be unbiased by size (pprof.cpp
// scales each record by 1/(1-exp(-size/rate)), as Go does). The countdown
// is one subtraction on mallocgc's path; everything else happens here.
// Frees: each sampled object's address is kept (sampledObjects, ordered)
// with its record; the sweeper, while any are live, hands each span it
// sweeps to mProfSweep, which charges the sampled objects the sweep frees
// to their records (Go marks such slots with a span "special" instead).
//
// Block events (blockevent): a wait of d ns is kept with probability
// min(1, d/rate), as Go's blocksampled. Mutex events (mutexevent): one in
// rate, recorded by the unlocker (semrelease1) with the waiter's delay.
// "Cycles" are nanoseconds throughout (the text format says
// cycles/second=1000000000).
#include "runtime/mprof.hpp"

#include <cmath>
#include <cstring>
#include <map>
#include <unordered_map>
#include <vector>

#include "gort/runtime_prof.hpp"
#include "runtime/lock_futex.hpp"
#include "runtime/mcache.hpp"
#include "runtime/mheap.hpp"
#include "runtime/panic.hpp"
#include "runtime/proc.hpp"
#include "runtime/runtime2.hpp"
#include "runtime/traceback.hpp"

namespace gort::runtime {
int MemProfileRate = 512 * 1024;
}

namespace gort::internal {

std::atomic<int64_t> blockprofilerate{0};
std::atomic<int64_t> mutexprofilerate{0};

namespace {

constexpr int kMaxStack = 32;  // frames a heap/block/mutex record keeps (Go: 32)

struct StackHash {
  size_t operator()(const std::vector<uintptr_t>& s) const {
    uint64_t h = 0xcbf29ce484222325ull;
    for (uintptr_t pc : s) h = (h ^ pc) * 0x100000001b3ull;
    return size_t(h);
  }
};

struct MemCounts {
  int64_t allocs = 0, allocBytes = 0, frees = 0, freeBytes = 0;
};
struct EventCounts {
  int64_t count = 0, cycles = 0;
};

mutex profLock{LockRank::leaf};
// Heap-allocated once and never freed: hooks may run during exit.
auto* memTable = new std::unordered_map<std::vector<uintptr_t>, MemCounts, StackHash>;
auto* blockTable = new std::unordered_map<std::vector<uintptr_t>, EventCounts, StackHash>;
auto* mutexTable = new std::unordered_map<std::vector<uintptr_t>, EventCounts, StackHash>;

// Sampled objects not yet freed, by address (profLock); nsampled counts
// them so that the sweeper skips the lock while there are none.
struct Sampled {
  MemCounts* rec;  // a node of memTable: never moves
  uintptr_t size;
};
auto* sampledObjects = new std::map<uintptr_t, Sampled>;
std::atomic<int64_t> nsampled{0};

// Skips count machine frames: these two must stay out of line.
[[gnu::noinline]] std::vector<uintptr_t> stackOf(int skip) {
  uintptr_t pcs[kMaxStack];
  int n = fpcallers(skip + 1, pcs, kMaxStack);
  return std::vector<uintptr_t>(pcs, pcs + n);
}

// A distance to the next sample: exponential with mean rate bytes.
intptr_t nextSampleDistance(int rate) {
  if (rate <= 0) return intptr_t(1) << 20;  // off: look again after a MiB, in case it is turned on
  if (rate == 1) return 0;
  // 26 random bits, as Go's fastexprand: enough resolution, cheap.
  double u = (double(fastrandn(1u << 26)) + 1) / double(1u << 26);
  double d = -std::log(u) * rate;
  return d >= double(INTPTR_MAX / 2) ? INTPTR_MAX / 2 : intptr_t(d);
}

[[gnu::noinline]] void saveEvent(std::unordered_map<std::vector<uintptr_t>, EventCounts, StackHash>* table,
                                 int64_t cycles, int skip) {
  std::vector<uintptr_t> stk = stackOf(skip + 1);
  lockGuard guard(&profLock);
  EventCounts& e = (*table)[std::move(stk)];
  e.count++;
  e.cycles += cycles;
}

std::vector<runtime::BlockProfileRecord> eventRecords(
    const std::unordered_map<std::vector<uintptr_t>, EventCounts, StackHash>* table) {
  std::vector<runtime::BlockProfileRecord> out;
  RuntimeEntry entry;
  lockGuard guard(&profLock);
  out.reserve(table->size());
  for (const auto& [stk, e] : *table) out.push_back({e.count, e.cycles, stk});
  return out;
}

}  // namespace

void profilealloc(mcache* c, uintptr_t v, uintptr_t size) {
  int rate = runtime::MemProfileRate;
  c->nextSample = nextSampleDistance(rate);
  if (!c->sampleArmed) {  // the cache's first countdown: nothing sampled yet
    c->sampleArmed = true;
    return;
  }
  if (rate <= 0) return;
  // Frames: stackOf, profilealloc, mallocgc, then mallocgc's caller,
  // where the record starts.
  std::vector<uintptr_t> stk = stackOf(2);
  lockGuard guard(&profLock);
  MemCounts& mc = (*memTable)[std::move(stk)];
  mc.allocs++;
  mc.allocBytes += int64_t(size);
  if (sampledObjects->insert_or_assign(v, Sampled{&mc, size}).second) nsampled.fetch_add(1, std::memory_order_relaxed);
}

bool mProfSampledLive() { return nsampled.load(std::memory_order_relaxed) > 0; }

void mProfSweep(const mspan* s) {
  uintptr_t lo = s->base(), hi = lo + s->nelems * s->elemsize;
  lockGuard guard(&profLock);
  for (auto it = sampledObjects->lower_bound(lo); it != sampledObjects->end() && it->first < hi;) {
    uintptr_t i = (it->first - lo) / s->elemsize;
    if (!s->allocated(i) || s->marked(i)) {
      ++it;
      continue;
    }
    it->second.rec->frees++;
    it->second.rec->freeBytes += int64_t(it->second.size);
    it = sampledObjects->erase(it);
    nsampled.fetch_sub(1, std::memory_order_relaxed);
  }
}

void blockevent(int64_t t0, int skip) {
  int64_t d = nanotime() - t0;
  if (d <= 0) d = 1;
  int64_t rate = blockprofilerate.load(std::memory_order_relaxed);
  if (rate <= 0 || (rate > d && int64_t(fastrand()) % rate > d)) return;
  saveEvent(blockTable, d, skip + 1);
  asm volatile("");  // no tail call: the skip counts this frame
}

void mutexevent(int64_t t0, int skip) {
  int64_t rate = mutexprofilerate.load(std::memory_order_relaxed);
  if (rate <= 0 || int64_t(fastrand()) % rate != 0) return;
  int64_t d = nanotime() - t0;
  saveEvent(mutexTable, d > 0 ? d : 1, skip + 1);
  asm volatile("");  // no tail call: the skip counts this frame
}

}  // namespace gort::internal

namespace gort::runtime {

void SetBlockProfileRate(int rate) {
  internal::blockprofilerate.store(rate < 0 ? 0 : rate, std::memory_order_relaxed);
}

int SetMutexProfileFraction(int rate) {
  if (rate < 0) return int(internal::mutexprofilerate.load(std::memory_order_relaxed));
  return int(internal::mutexprofilerate.exchange(rate, std::memory_order_relaxed));
}

std::vector<MemProfileRecord> MemProfile(bool inuseZero) {
  using namespace internal;
  std::vector<MemProfileRecord> out;
  RuntimeEntry entry;
  lockGuard guard(&profLock);
  out.reserve(memTable->size());
  for (const auto& [stk, mc] : *memTable) {
    if (!inuseZero && mc.allocBytes == mc.freeBytes) continue;
    out.push_back({mc.allocBytes, mc.freeBytes, mc.allocs, mc.frees, stk});
  }
  return out;
}

std::vector<BlockProfileRecord> BlockProfile() { return internal::eventRecords(internal::blockTable); }
std::vector<BlockProfileRecord> MutexProfile() { return internal::eventRecords(internal::mutexTable); }

std::vector<StackRecord> ThreadCreateProfile() {
  std::vector<StackRecord> out;
  for (internal::m* mp = internal::allmHead(); mp; mp = mp->alllink) {
    out.push_back({std::vector<uintptr_t>(mp->createstack, mp->createstack + mp->ncreatestack)});
  }
  return out;
}

}  // namespace gort::runtime
