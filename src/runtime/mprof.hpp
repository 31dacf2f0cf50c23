// mprof.hpp: the heap, block and mutex profiles' runtime half (mprof.cpp).
#pragma once

#include <atomic>
#include <cstdint>

#include "runtime/os_linux.hpp"

namespace gort::internal {

struct mcache;
struct mspan;

// mallocgc's hook, off its fast path: the cache's sampling countdown went
// below zero after allocating v, `size` bytes (mcache::nextSample).
[[gnu::noinline]] void profilealloc(mcache* c, uintptr_t v, uintptr_t size);
// The sweeper's: whether any sampled object is live, and, before s's mark
// bits become its allocation bits, the sampled objects the sweep frees.
bool mProfSampledLive();
void mProfSweep(const mspan* s);

extern std::atomic<int64_t> blockprofilerate;  // nanoseconds per sample; 0 off
extern std::atomic<int64_t> mutexprofilerate;  // one event in rate; 0 off

// A blocking wait's start for the block profile: 0 when it is off.
inline int64_t blockProfileStart() {
  return blockprofilerate.load(std::memory_order_relaxed) > 0 ? nanotime() : 0;
}
inline int64_t mutexProfileStart() {
  return mutexprofilerate.load(std::memory_order_relaxed) > 0 ? nanotime() : 0;
}
// The wait that began at t0 (blockProfileStart, non-zero) has ended: maybe
// record it, with the stack from the caller up (skip: frames above the
// caller to leave out).
[[gnu::noinline]] void blockevent(int64_t t0, int skip);
// A goroutine that waited since t0 (mutexProfileStart) for a lock the
// caller is releasing: maybe record the delay on the releaser's stack
// (from the caller up, as blockevent).
[[gnu::noinline]] void mutexevent(int64_t t0, int skip);

}  // namespace gort::internal
