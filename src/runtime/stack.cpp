// stack.cpp: goroutine stack allocation (the role of runtime/stack.go).
//
// C++ frames hold raw pointers into their stack, so Go's copyable, growing
// stacks are impossible. Instead each goroutine gets a fixed reservation
// (maxStackSize, 256 KiB by default, debug::SetMaxStack to change) of which
// the kernel commits only the pages actually touched: a parked goroutine that
// never went deep costs one page.
//
// Reservations are carved from large chunks mapped MAP_NORESERVE, so one
// chunk is one kernel mapping however many stacks it holds. Each stack's guard
// is installed with MADV_GUARD_INSTALL (Linux 6.13+), which marks the pages
// in the page tables without splitting the mapping: the kernel's
// max_map_count (65530 by default) would otherwise cap the goroutine count
// near 32K. On older kernels the guard falls back to mprotect(PROT_NONE),
// which does split mappings; past that limit new stacks fail with a fatal
// error rather than silently running unguarded. The first guard is checked
// from the kernel side (a write(2) from it must fail with EFAULT): an
// emulator such as qemu-user accepts the advice and does nothing, and is
// then given mprotect guards too.
//
// The guard is as large as the stack-clash probes of the architecture's
// compiler assume (kStackGuardBytes, arch.hpp: GCC probes every 4 KiB on
// amd64 but every 64 KiB on arm64), and at least a page of the running
// kernel's page size (4, 16 or 64 KiB on arm64).
//
// Transparent huge pages are disabled on stack chunks, or touching one page
// of a stack could commit 2 MiB.
//
// Free stacks are cached per P (LIFO, hot in cache; no lock) and overflow to
// a global pool under stackLock, one list per stack size (SetMaxStack may
// leave many stacks of an old size behind: taking a stack of the new size
// must not step over them). sysmon returns the pages of stacks free for
// a while (stackScavenge), keeping the top page, which a reuse touches first.
//
// A freed stack's top (kScrubBytes) is zeroed: the collector scans live
// frames conservatively, and the next goroutine's first frames would
// otherwise leave the dead one's pointers in the slots they never write,
// keeping its objects alive. Deeper stale words stay (zeroing the whole
// used depth is not known cheaply); the top is where short goroutines keep
// their locals.
//
// Locks: stackLock guards the pools only: nothing is taken under it
// (lockrank.cpp).
#include "runtime/stack.hpp"
#include "gort/internal/gcptr.hpp"
#include "runtime/malloc.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <vector>

#include "gort/debug.hpp"
#include "runtime/os_linux.hpp"
#include "runtime/panic.hpp"
#include "runtime/print.hpp"
#include "runtime/proc.hpp"
#include "runtime/runtime1.hpp"
#include "runtime/sanitizer.hpp"

#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102
#endif

namespace gort::internal {

namespace {

constexpr size_t kDefaultStack = 256 << 10;
constexpr size_t kMinStack = 16 << 10;
constexpr size_t kChunkBytes = size_t(1) << 30;  // address space per chunk
constexpr int32_t kStackCacheMax = 64;
constexpr size_t kScrubBytes = 2 << 10;  // zeroed at the top of a freed stack

#if defined(GORT_ASAN) || defined(GORT_TSAN)
// Instrumented frames are several times larger.
constexpr size_t kSanitizerScale = 4;
#else
constexpr size_t kSanitizerScale = 1;
#endif

std::atomic<size_t> stackSize{kDefaultStack * kSanitizerScale};

struct Chunk {
  uintptr_t base;
  uintptr_t end;
  uintptr_t next;     // next uncarved address
  size_t slotBytes;   // guard + stack
};

// Free stacks of one size.
struct FreePool {
  size_t size;
  StackSlot* head;
};

mutex stackLock{LockRank::stack};
std::vector<FreePool>* freePools;  // stackLock; a handful of sizes at most
std::vector<Chunk>* chunks;        // stackLock
std::atomic<int> guardMode{0};    // 0 unknown, 1 MADV_GUARD_INSTALL, 2 mprotect

// The free list for stacks of size bytes.
StackSlot*& freeList(size_t size) {
  assertLockHeld(&stackLock, "freeList");
  if (!freePools) freePools = new std::vector<FreePool>();
  for (FreePool& fp : *freePools) {
    if (fp.size == size) return fp.head;
  }
  freePools->push_back(FreePool{size, nullptr});
  return freePools->back().head;
}

// Puts s on its size's free list.
void freeListPush(StackSlot* s) {
  assertLockHeld(&stackLock, "freeListPush");
  StackSlot*& head = freeList(s->hi - s->lo);
  s->next = head;
  head = s;
}

size_t pageSize() {
  static const size_t page = size_t(sysconf(_SC_PAGESIZE));
  return page;
}

size_t guardBytes() { return pageSize() > kStackGuardBytes ? pageSize() : kStackGuardBytes; }

size_t roundPage(size_t n) { return (n + pageSize() - 1) & ~(pageSize() - 1); }

// Whether the guard at lo really faults: the kernel cannot read it for a
// write(2) either. Any other outcome (no pipe to try with) says no.
bool guardFaults(uintptr_t lo) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return false;
  ssize_t n = write(fds[1], reinterpret_cast<void*>(lo), 1);
  int err = errno;
  close(fds[0]);
  close(fds[1]);
  return n < 0 && err == EFAULT;
}

void installGuard(uintptr_t lo) {
  void* p = reinterpret_cast<void*>(lo);
  int mode = guardMode.load(std::memory_order_relaxed);
  if (mode != 2) {
    if (madvise(p, guardBytes(), MADV_GUARD_INSTALL) == 0) {
      if (mode == 1) return;
      if (guardFaults(lo)) {
        guardMode.store(1, std::memory_order_relaxed);
        return;
      }
    } else if (errno != EINVAL) {
      throw_("runtime: cannot install stack guard page");
    }
    guardMode.store(2, std::memory_order_relaxed);
  }
  if (mprotect(p, guardBytes(), PROT_NONE) != 0) {
    printstr("runtime: cannot protect stack guard page (vm.max_map_count reached?)\n");
    throw_("out of memory allocating goroutine stack");
  }
}

// Chunks are mapped end to end while the address space after the last
// one is free, so that "is this word on a goroutine stack" is one range
// test (internal/gcptr.hpp); a chunk that cannot follow on is listed for
// the slow test. The end of the region is only a hint to mmap, never
// MAP_FIXED_NOREPLACE: ThreadSanitizer drops a hint outside its application
// range, and with that flag the kernel would then map the chunk at 0.
constexpr int kMaxOverflowChunks = 1024;
std::atomic<uintptr_t> overflowChunks[kMaxOverflowChunks];
std::atomic<int> overflowCount{0};

void* mapChunk() {
  uintptr_t next = stackRegion.hi.load(std::memory_order_relaxed);
  void* mem = mmap(reinterpret_cast<void*>(next), kChunkBytes, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (mem == MAP_FAILED) return mem;
  auto base = reinterpret_cast<uintptr_t>(mem);
  if (next == 0 || base == next) {
    if (next == 0) stackRegion.lo.store(base, std::memory_order_relaxed);
    stackRegion.hi.store(base + kChunkBytes, std::memory_order_release);
    return mem;
  }
  int n = overflowCount.load(std::memory_order_relaxed);
  if (n == kMaxOverflowChunks) {
    munmap(mem, kChunkBytes);
    throw_("runtime: goroutine stack space exhausted");
  }
  overflowChunks[n].store(base, std::memory_order_relaxed);
  overflowCount.store(n + 1, std::memory_order_release);
  return mem;
}

Chunk& newChunk(size_t slotBytes) {
  void* mem = mapChunk();
  if (mem == MAP_FAILED) throw_("runtime: cannot reserve goroutine stack space");
  madvise(mem, kChunkBytes, MADV_NOHUGEPAGE);
  uintptr_t base = reinterpret_cast<uintptr_t>(mem);
  chunks->push_back(Chunk{base, base + kChunkBytes, base, slotBytes});
  return chunks->back();
}

// Carves a new slot of the current size.
StackSlot* carve(size_t size) {
  assertLockHeld(&stackLock, "carve");
  size_t slotBytes = size + guardBytes();
  if (!chunks) chunks = new std::vector<Chunk>();
  Chunk* c = nullptr;
  for (auto& ch : *chunks) {
    if (ch.slotBytes == slotBytes && ch.end - ch.next >= slotBytes) c = &ch;
  }
  if (!c) {
    if (slotBytes > kChunkBytes) throw_("runtime: goroutine stack size exceeds chunk size");
    c = &newChunk(slotBytes);
  }
  uintptr_t guard = c->next;
  c->next += slotBytes;
  installGuard(guard);
  auto* s = new StackSlot();
  s->lo = guard + guardBytes();
  s->hi = guard + slotBytes;
  heapStats().stackInuse.fetch_add(s->hi - s->lo, std::memory_order_relaxed);  // slots are never uncarved
  return s;
}

}  // namespace

StackRegion stackRegion;

bool onAnyStack(uintptr_t p) {
  if (inStackRegion(reinterpret_cast<const void*>(p))) return true;
  int n = overflowCount.load(std::memory_order_acquire);
  for (int i = 0; i < n; i++) {
    if (p - overflowChunks[i].load(std::memory_order_relaxed) < kChunkBytes) return true;
  }
  return false;
}

size_t maxStackSize() { return stackSize.load(std::memory_order_relaxed); }

size_t setMaxStackSize(size_t bytes) {
  size_t n = roundPage(bytes < kMinStack ? kMinStack : bytes);
  if (n > kChunkBytes - guardBytes()) n = kChunkBytes - guardBytes();
  return stackSize.exchange(n);
}

StackSlot* stackalloc(p* pp) {
  size_t size = maxStackSize();
  if (pp && pp->stackcache) {
    StackSlot* s = pp->stackcache;
    if (s->hi - s->lo == size) {
      pp->stackcache = s->next;
      pp->stackcacheCount--;
      s->next = nullptr;
      return s;
    }
    stackcacheRelease(pp);  // size changed: the cache holds the old size
  }
  lockGuard guard(&stackLock);
  StackSlot*& head = freeList(size);
  if (StackSlot* s = head) {
    head = s->next;
    s->next = nullptr;
    s->trimmed = false;
    return s;
  }
  return carve(size);
}

void stackfree(p* pp, StackSlot* s) {
  san::unpoisonStack(s->lo, s->hi - s->lo);
  san::resetStack(s->lo, s->hi - s->lo);
  size_t scrub = std::min<size_t>(kScrubBytes, s->hi - s->lo);
  std::memset(reinterpret_cast<void*>(s->hi - scrub), 0, scrub);
  if (pp && pp->stackcacheCount < kStackCacheMax) {
    s->next = pp->stackcache;
    pp->stackcache = s;
    pp->stackcacheCount++;
    return;
  }
  s->freedAt = nanotime();
  lockGuard guard(&stackLock);
  freeListPush(s);
}

void stackcacheRelease(p* pp) {
  int64_t now = nanotime();
  lockGuard guard(&stackLock);
  while (StackSlot* s = pp->stackcache) {
    pp->stackcache = s->next;
    s->freedAt = now;
    freeListPush(s);
  }
  pp->stackcacheCount = 0;
}

void stackScavenge(int64_t now, int64_t ageNs) {
  lockGuard guard(&stackLock);
  if (!freePools) return;
  for (const FreePool& fp : *freePools) {
    for (StackSlot* s = fp.head; s; s = s->next) {
      if (s->trimmed || now - s->freedAt < ageNs) continue;
      size_t len = s->hi - pageSize() - s->lo;
      if (len) sysUnused(reinterpret_cast<void*>(s->lo), len);
      s->trimmed = true;
    }
  }
}

bool stackGuardHit(uintptr_t addr, uintptr_t* lo, uintptr_t* hi) {
  g* gp = getg();
  if (!gp) return false;
  g* cur = gp->mp ? gp->mp->curg : nullptr;
  if (!cur || !cur->slot) return false;
  // Frames larger than the guard could jump it; the library and its users
  // compile with -fstack-clash-protection, which probes at least that often.
  uintptr_t guardLo = cur->stk.lo - guardBytes();
  if (addr >= guardLo && addr < cur->stk.lo) {
    *lo = cur->stk.lo;
    *hi = cur->stk.hi;
    return true;
  }
  return false;
}

void leakCheckAtExit() {
  if constexpr (!san::kASan) return;
  // ASan knows each thread by the stack it last switched to, a goroutine's:
  // the threads' own stacks (g0s, and m0's, where a program that called
  // Main from deeper code keeps its frames) are roots too.
  for (m* mp = allmHead(); mp; mp = mp->alllink) {
    if (mp->g0StackHi > mp->g0StackLo) {
      san::registerRootRegion(reinterpret_cast<const void*>(mp->g0StackLo), mp->g0StackHi - mp->g0StackLo);
    }
  }
  g* self = getg();
  for (g* gp = allgsHead(); gp; gp = gp->alllink) {
    if (!gp->slot) continue;
    // A parked goroutine's live frames lie above its saved sp; one running
    // on another M (or this one) may use any of its stack.
    bool parked = gp != self && gp->atomicstatus.load(std::memory_order_acquire) != Grunning;
    uintptr_t lo = parked && gp->sched.sp ? gp->sched.sp : gp->stk.lo;
    san::registerRootRegion(reinterpret_cast<const void*>(lo), gp->stk.hi - lo);
  }
  san::leakCheck();
}

}  // namespace gort::internal

namespace gort::debug {

int64_t SetMaxStack(int64_t bytes) {
  return int64_t(internal::setMaxStackSize(bytes < 0 ? 0 : size_t(bytes)));
}

}  // namespace gort::debug
