// malloc.hpp: the memory allocator's shared vocabulary (mirrors the
// constants and declarations of runtime/malloc.go): page and arena sizes,
// span classes, the heap statistics, and the OS memory calls (mem_linux.cpp).
//
// The allocator's layers, each in the file Go keeps it in:
//   malloc.cpp      mallocgc: tiny, small and large objects; start-up
//   mcache.cpp      the per-P cache of spans (no lock on the fast path)
//   mcentral.cpp    per span class: the spans with free slots, swept or not
//   mheap.cpp       spans and their records, arenas, the arena index
//                   (spanOfHeap, findObject), the mark-bit arenas
//   mpagealloc.cpp  the page allocator (radix tree of free-page summaries)
//                   and the per-P page cache (small spans without the lock)
//   mgcsweep.cpp    sweeping: mark bits become allocation bits
//   mgcscavenge.cpp returning free pages to the OS
//   mstats.cpp      ReadMemStats from the per-P counters
//   mem_linux.cpp   the OS's memory calls
// and the collector's (mgc.hpp): mgc.cpp, mgcmark.cpp, mbarrier.cpp,
// mfinal.cpp.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "runtime/sizeclasses.hpp"

namespace gort::internal {

struct Type;
struct g;

inline constexpr uintptr_t kPageSize = uintptr_t(1) << kPageShift;  // 8 KiB
// The heap's addresses: 48 bits on amd64 and arm64 (Linux's user space).
inline constexpr uintptr_t kHeapAddrBits = 48;
// Arenas: the unit of address-space reservation and of the arena index.
inline constexpr uintptr_t kLogHeapArenaBytes = 26;
inline constexpr uintptr_t kHeapArenaBytes = uintptr_t(1) << kLogHeapArenaBytes;  // 64 MiB
inline constexpr uintptr_t kPagesPerArena = kHeapArenaBytes / kPageSize;
// Pointer-free objects below this size share 16-byte blocks (malloc.go's
// tiny allocator).
inline constexpr uintptr_t kTinySize = 16;

constexpr uintptr_t alignUp(uintptr_t n, uintptr_t a) { return (n + a - 1) & ~(a - 1); }
constexpr uintptr_t alignDown(uintptr_t n, uintptr_t a) { return n & ~(a - 1); }

// A span class: size class and whether the span's objects may hold
// pointers (scan) or not (noscan, never scanned by the collector).
struct spanClass {
  uint8_t v = 0;
  static constexpr spanClass make(int sizeclass, bool noscan) { return {uint8_t(sizeclass << 1 | int(noscan))}; }
  constexpr int sizeclass() const { return v >> 1; }
  constexpr bool noscan() const { return v & 1; }
};
inline constexpr int kNumSpanClasses = kNumSizeClasses << 1;

// The size class of a small allocation (size <= kMaxSmallSize).
inline constexpr int sizeToClass(uintptr_t size) {
  return size <= kSmallSizeMax - 8 ? kSizeToClass8[(size + kSmallSizeDiv - 1) / kSmallSizeDiv]
                                   : kSizeToClass128[(size - kSmallSizeMax + kLargeSizeDiv - 1) / kLargeSizeDiv];
}

// Allocate size bytes on the collected heap: an object of type typ (null:
// raw bytes that hold no pointers), zeroed unless needzero is false and the
// caller initialises every byte. Never returns null: exhaustion is the
// fatal error "out of memory". Size 0 returns the address of zerobase.
void* mallocgc(uintptr_t size, const Type* typ, bool needzero);
extern char zerobase[8];

// GODEBUG=inittrace=1 (inittask.cpp): while gp is set, what gp allocates.
struct InitTracker {
  std::atomic<g*> gp{nullptr};
  uint64_t bytes = 0, allocs = 0;
};
extern InitTracker inittraceAllocs;

// Statistics kept by whoever changes them (per-P counters in mcache.hpp for
// allocation and frees; these, under the heap lock or atomically, for the
// heap's shape), summed by ReadMemStats without stopping the world.
struct HeapStats {
  std::atomic<uint64_t> heapSys{0};       // heap address space mapped for use
  std::atomic<uint64_t> heapInuse{0};     // bytes in spans in use
  std::atomic<uint64_t> heapReleased{0};  // free bytes returned to the OS (or never touched)
  std::atomic<uint64_t> spanSys{0}, spanInuse{0};    // mspan records
  std::atomic<uint64_t> cacheSys{0}, cacheInuse{0};  // mcache records
  std::atomic<uint64_t> stackInuse{0};  // goroutine stack slots carved (stack.cpp; they are never uncarved)
  std::atomic<uint64_t> gcSys{0};     // mark-bit arenas
  std::atomic<uint64_t> otherSys{0};  // arena records, page bitmaps and summaries
};
HeapStats& heapStats();

// The scavenger (mgcscavenge.cpp): sysmon's periodic call, and returning
// every free page at once (debug::FreeOSMemory). noteHeapStarted: the heap
// exists, so sysmon's calls have work to look at.
void scavengeTick(int64_t sinceNs);
void scavengeAll();
void noteHeapStarted();

// OS memory (mem_linux.cpp). sysAlloc maps n bytes read-write and adds them
// to *sysStat; sysReserve takes address space only (null on failure);
// sysMap makes reserved space usable; sysUnused returns pages' memory to
// the OS, keeping the mapping.
void* sysAlloc(uintptr_t n, std::atomic<uint64_t>* sysStat);
void* sysReserve(void* hint, uintptr_t n);
void sysMap(void* v, uintptr_t n);
void sysUnused(void* v, uintptr_t n);
void sysFree(void* v, uintptr_t n);
// Ask for transparent huge pages (where THP is in "madvise" mode): the heap
// faults in 2 MiB at a time, a fraction of the page faults.
void sysHugePage(void* v, uintptr_t n);
[[noreturn]] void outOfMemory(uintptr_t n);

}  // namespace gort::internal
