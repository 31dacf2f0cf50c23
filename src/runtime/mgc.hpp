// mgc.hpp: the collector's pieces and who calls them (mgc.cpp, mgcmark.cpp,
// mbarrier.cpp, mfinal.cpp; mirrors runtime/mgc.go's shared state).
#pragma once

#include <atomic>
#include <cstdint>

namespace gort::runtime {
struct MemStats;
}

namespace gort::internal {

struct mspan;

// The pacer's view of the heap (mgc.cpp). heapLive: bytes of objects
// allocated since the last mark plus those it marked (cached spans count
// whole, as Go counts them); trigger: the heapLive that starts a cycle.
struct GCController {
  std::atomic<uint64_t> heapLive{0};
  std::atomic<uint64_t> trigger{4 << 20};
  std::atomic<uint64_t> heapGoal{4 << 20};
  uint64_t heapMarked = 0;  // at the last mark termination
};
extern GCController gcController;

// mallocgc's slow paths: bytes entering (a cached span's free slots, a
// large object) or leaving (an uncached span's unused slots) heapLive.
void gcNoteAlloc(uint64_t bytes);
void gcNoteUncached(uint64_t bytes);
// GOGC and GOMEMLIMIT, read at start-up (schedinit).
void gcinit();
// The collector's fields of MemStats.
void readGCStats(runtime::MemStats* m);
// Sweep cycles (mgcsweep.cpp), with the world stopped: sweep what the last
// cycle left and start a new mark-bit epoch; after marking, flush the
// mcaches and move sweepgen on, which makes every span unswept.
void sweepTermination();
void startSweepCycle();
// After an allocation that crossed the trigger: collect now if this
// goroutine may (called outside the allocator's runtime entry).
void gcMaybeStart();

// Whether the cycle is marking: the write barrier is on and allocation
// is black.
extern std::atomic<bool> gcMarking;

// Marking (mgcmark.cpp). gcMarkRoots, with the world stopped and the
// allocator's, the roots' and the destructors' locks held, greys every
// root with the goroutines that run without a P suspended; false if one
// could not be (the cycle does not start). gcDrain scans grey objects
// until none is left or *stop turns true; gcCheckMarks (GODEBUG=
// gccheckmark=1, world stopped, same locks) marks everything again into
// scratch bits and dies on an object reachable now that the cycle left
// unmarked.
bool gcMarkRoots();
void gcDrain(const std::atomic<bool>* stop);
void gcCheckMarks();
uint64_t gcMarkedBytes();
uint64_t gcStackScanBytes();  // stack bytes the last snapshot scanned
void gcShade(const void* p);            // the write barrier: grey p's object
void gcMarkNewObject(uintptr_t obj);    // allocate-black
void gcWakeWorker();                    // the cycle's marking begins
void gcStopWorker();                    // mark termination: the worker idle on return
const std::atomic<bool>* gcStopping();  // true once mark termination begins
void gcMarkWorkDone();                  // the worker found nothing left (mgc.cpp)

// Root table and the mark gate (mbarrier.cpp).
void gcLockRoots();
void gcUnlockRoots();
void gcForEachRoot(void (*fn)(uintptr_t slot, void* arg), void* arg);
size_t gcRootCount();
void gcCloseGate();
void gcOpenGate();
// Clear the pointer bits of [p, p+n): the words of a slot being reused.
void clearPointerBits(uintptr_t p, uintptr_t n);
bool hasPointerBit(uintptr_t p);

// Destructors (mfinal.cpp). The sweeper keeps an unmarked object with a
// destructor (it marks it again) and queues it; marking keeps queued
// objects alive without scanning them; the destructor goroutine runs them.
void sweepDestructors(mspan* s);  // before s's mark bits become its allocation bits
void freeDestructorRecords(mspan* s);  // s goes back to the heap
void markQueuedDestructors(void (*mark)(uintptr_t obj));  // destructor lock held
void gcLockDestructors();
void gcUnlockDestructors();
void wakeDestructors();  // after a cycle: run what the sweep queued

// Special records (mspecial.cpp): finalizers, cleanups, weak handles and
// pins. gcMarkRoots scans what they keep (the contents of objects with a
// finalizer, weak handles, pinned objects, the finalizer queue) through
// markSpecialRoots; mark termination, after the last drain, gives the
// objects found unmarked to gcProcessSpecials: weak handles cleared,
// finalizers queued (the object marked again), cleanups queued. Both with
// the specials lock held, which the collector takes before the mark gate.
void gcLockSpecials();
void gcUnlockSpecials();
void markSpecialRoots();
bool gcProcessSpecials();  // true if it queued anything
void wakeFinalizers();     // after the cycle, if gcProcessSpecials queued
// Marking helpers for them (mgcmark.cpp): scan obj's words without marking
// obj; mark obj without scanning it (its referents may be gone).
void gcScanContents(uintptr_t obj);
void gcMarkHeld(uintptr_t obj);

// GC suspension of a goroutine running without a P (mgcmark.cpp): the
// SIGURG handler calls this first; true if it was a suspension request.
bool gcSuspendHandler(void* ctx);

}  // namespace gort::internal
