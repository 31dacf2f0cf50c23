// mstats.hpp: the allocation counters summed over every cache (mstats.cpp),
// for ReadMemStats and runtime/metrics.
#pragma once

#include <cstdint>

#include "runtime/mcache.hpp"
#include "runtime/sizeclasses.hpp"

namespace gort::internal {

struct AllocTotals {
  uint64_t nmalloc[kNumSizeClasses] = {}, nfree[kNumSizeClasses] = {};  // per size class (tiny blocks in class 2)
  uint64_t tiny = 0, largeAlloc = 0, largeAllocCount = 0, largeFree = 0, largeFreeCount = 0;
  void add(const mcacheStats& s);
};
// Sums the live caches, the shared one and the dead ones' totals, without
// stopping the world.
AllocTotals allocTotals();

}  // namespace gort::internal
