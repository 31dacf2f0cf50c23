// mbarrier.cpp: the stores of collected pointers outside goroutine stacks
// (the slow paths of internal/gcptr.hpp; mirrors runtime/mbarrier.go's
// place) and the root table.
//
// A heap word gets its pointer bit (mheap.hpp, heapArena.ptrBits) when a
// pointer is stored there; the bit is cleared only when the slot is
// allocated again, so a word that once held a Ptr and now holds something
// else is read as a candidate pointer and checked by findObject, which may
// keep garbage alive but never frees a live object.
//
// Roots: a word that is neither heap nor stack is registered in a sharded
// hash set while it holds a pointer. The collector reads every shard with
// its lock held (gcLockRoots), so a thread that registers mid-collection
// waits.
//
// The write barrier (mgcmark.cpp's snapshot at the beginning): while the
// collector marks, a heap word's old pointer is shaded before a store or a
// destruction replaces it. Threads without a P (foreign threads, goroutines
// in syscall::Blocking) keep running while the world is stopped, so their
// heap stores, and every heap store while marking, pass the mark gate: they
// announce themselves in gateUsers and wait while the collector has it
// closed (an asymmetric Dekker with gcCloseGate), which it does while it
// takes the snapshot and at mark termination. Root stores need no barrier:
// the snapshot scanned every root, and what a root gets later was
// reachable then or is new (black).
//
// Locks: a root shard's lock is a leaf, and the collector takes all of them
// (in index order) after the allocator's locks.
#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <optional>

#include "gort/internal/gcptr.hpp"
#include "runtime/mgc.hpp"
#include "runtime/mheap.hpp"
#include "runtime/panic.hpp"
#include "runtime/proc.hpp"
#include "runtime/stack.hpp"

namespace gort::internal {

namespace {

// An open-addressing set of slot addresses (linear probing, backward-shift
// deletion), one per shard.
struct RootShard {
  std::mutex lock;
  uintptr_t* slots = nullptr;
  size_t cap = 0, n = 0;

  size_t home(uintptr_t a) const { return ((a >> 3) * 0x9e3779b97f4a7c15ull >> 20) & (cap - 1); }

  void grow() {
    size_t oldCap = cap;
    uintptr_t* old = slots;
    cap = cap ? cap * 2 : 64;
    slots = static_cast<uintptr_t*>(calloc(cap, sizeof(uintptr_t)));
    if (!slots) throw_("runtime: cannot grow the root table");
    n = 0;
    for (size_t i = 0; i < oldCap; i++) {
      if (old[i]) insert(old[i]);
    }
    free(old);
  }
  void insert(uintptr_t a) {
    if ((n + 1) * 4 > cap * 3) grow();
    size_t i = home(a);
    while (slots[i] && slots[i] != a) i = (i + 1) & (cap - 1);
    if (!slots[i]) n++;
    slots[i] = a;
  }
  void erase(uintptr_t a) {
    if (!cap) return;
    size_t i = home(a);
    while (slots[i] != a) {
      if (!slots[i]) return;
      i = (i + 1) & (cap - 1);
    }
    // Shift later members of the probe run back over the hole.
    for (size_t j = (i + 1) & (cap - 1); slots[j]; j = (j + 1) & (cap - 1)) {
      size_t h = home(slots[j]);
      if (((j - h) & (cap - 1)) >= ((j - i) & (cap - 1))) {
        slots[i] = slots[j];
        i = j;
      }
    }
    slots[i] = 0;
    n--;
  }
};

// Enough shards that registering threads rarely meet; few enough that the
// collector holding them all stays within what TSan's deadlock detector
// tracks (64 locks held at once).
constexpr size_t kRootShards = 32;
RootShard rootShards[kRootShards];

RootShard& shardOf(uintptr_t a) { return rootShards[(a >> 3) % kRootShards]; }

std::atomic<bool> gateClosed{false};
std::atomic<int64_t> gateUsers{0};
std::mutex gateLock;  // held by the collector while the gate is closed

// Brackets a heap store by a thread without a P, and every heap store
// while marking, so that the collector can wait for those in flight
// (see the file comment).
bool hasP() {
  g* gp = getg();
  return gp && gp->mp->pp;
}

// A goroutine holding a count, or a root shard's lock, must not be
// preempted: the collector stops the world and then waits for both. The
// code here is runtime text, but the std::mutex calls it makes may be
// outlined copies in the program's text, where asynchronous preemption
// would stop it; a runtime entry refuses that.
struct GatePass {
  bool counted;
  std::optional<RuntimeEntry> entry;
  explicit GatePass(bool marking) : counted(marking || !hasP()) {
    if (!counted) return;
    entry.emplace();
    for (;;) {
      gateUsers.fetch_add(1, std::memory_order_seq_cst);
      if (!gateClosed.load(std::memory_order_seq_cst)) return;
      gateUsers.fetch_sub(1, std::memory_order_seq_cst);
      std::lock_guard<std::mutex> wait(gateLock);
    }
  }
  ~GatePass() {
    if (counted) gateUsers.fetch_sub(1, std::memory_order_release);
  }
};

enum class SlotKind { heap, stack, root };

SlotKind slotKind(uintptr_t a, heapArena** ha) {
  *ha = arenaOf(a);
  if (*ha) return SlotKind::heap;
  return onAnyStack(a) ? SlotKind::stack : SlotKind::root;
}

void setPointerBit(heapArena* ha, uintptr_t a) {
  uintptr_t w = (a % kHeapArenaBytes) / 8;
  auto bit = uint8_t(1u << (w % 8));
  std::atomic<uint8_t>& b = ha->ptrBits[w / 8];
  if (!(b.load(std::memory_order_relaxed) & bit)) b.fetch_or(bit, std::memory_order_relaxed);
}

void addRoot(uintptr_t a) {
  RuntimeEntry entry;  // not preempted holding the shard (see GatePass)
  RootShard& s = shardOf(a);
  std::lock_guard<std::mutex> guard(s.lock);
  s.insert(a);
}

void removeRoot(uintptr_t a) {
  RuntimeEntry entry;
  RootShard& s = shardOf(a);
  std::lock_guard<std::mutex> guard(s.lock);
  s.erase(a);
}

}  // namespace

void slotInitSlow(const void* const* slot, const void*) noexcept {
  auto a = reinterpret_cast<uintptr_t>(slot);
  heapArena* ha;
  switch (slotKind(a, &ha)) {
    case SlotKind::heap: setPointerBit(ha, a); break;
    case SlotKind::root: addRoot(a); break;
    case SlotKind::stack: break;
  }
}

// Heap stores and destructions run the deletion barrier while marking:
// the pointer the word held is shaded before it is gone.
void slotStoreSlow(const void** slot, const void* v) noexcept {
  auto a = reinterpret_cast<uintptr_t>(slot);
  heapArena* ha;
  switch (slotKind(a, &ha)) {
    case SlotKind::heap: {
      GatePass pass(gcMarking.load(std::memory_order_acquire));
      if (gcMarking.load(std::memory_order_acquire)) gcShade(*slot);
      if (v) setPointerBit(ha, a);
      *slot = v;
      return;
    }
    case SlotKind::root: {
      const void* old = *slot;
      if (!old && v) addRoot(a);
      *slot = v;
      if (old && !v) removeRoot(a);
      return;
    }
    case SlotKind::stack: *slot = v; return;
  }
}

void slotDestroySlow(const void* const* slot, const void* v) noexcept {
  auto a = reinterpret_cast<uintptr_t>(slot);
  heapArena* ha;
  switch (slotKind(a, &ha)) {
    case SlotKind::heap: {
      GatePass pass(gcMarking.load(std::memory_order_acquire));
      if (gcMarking.load(std::memory_order_acquire)) gcShade(v);
      return;
    }
    case SlotKind::root: removeRoot(a); return;
    case SlotKind::stack: return;
  }
}

void clearPointerBits(uintptr_t p, uintptr_t n) {
  for (uintptr_t end = p + n; p < end;) {
    heapArena* ha = arenaOf(p);
    uintptr_t w = (p % kHeapArenaBytes) / 8;
    uintptr_t stop = std::min(end, alignDown(p, kHeapArenaBytes) + kHeapArenaBytes);
    uintptr_t words = (stop - p) / 8;
    // Whole bytes belong to this object alone; the partial ones at either
    // end are shared with neighbours another thread may be writing.
    while (words && w % 8) {
      ha->ptrBits[w / 8].fetch_and(uint8_t(~(1u << (w % 8))), std::memory_order_relaxed);
      w++, words--;
    }
    for (; words >= 8; w += 8, words -= 8) ha->ptrBits[w / 8].store(0, std::memory_order_relaxed);
    for (; words; w++, words--) {
      ha->ptrBits[w / 8].fetch_and(uint8_t(~(1u << (w % 8))), std::memory_order_relaxed);
    }
    p = stop;
  }
}

bool hasPointerBit(uintptr_t p) {
  heapArena* ha = arenaOf(p);
  uintptr_t w = (p % kHeapArenaBytes) / 8;
  return ha && (ha->ptrBits[w / 8].load(std::memory_order_relaxed) >> (w % 8) & 1);
}

void gcLockRoots() {
  for (RootShard& s : rootShards) s.lock.lock();
}

void gcUnlockRoots() {
  for (RootShard& s : rootShards) s.lock.unlock();
}

void gcForEachRoot(void (*fn)(uintptr_t slot, void* arg), void* arg) {
  for (RootShard& s : rootShards) {
    for (size_t i = 0; i < s.cap; i++) {
      if (s.slots[i]) fn(s.slots[i], arg);
    }
  }
}

size_t gcRootCount() {
  size_t n = 0;
  for (RootShard& s : rootShards) {
    std::lock_guard<std::mutex> guard(s.lock);
    n += s.n;
  }
  return n;
}

void gcCloseGate() {
  gateLock.lock();
  gateClosed.store(true, std::memory_order_seq_cst);
  while (gateUsers.load(std::memory_order_seq_cst) != 0) sched_yield();
}

void gcOpenGate() {
  gateClosed.store(false, std::memory_order_release);
  gateLock.unlock();
}

}  // namespace gort::internal
