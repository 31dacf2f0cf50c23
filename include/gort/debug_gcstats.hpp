// debug_gcstats.hpp: runtime/debug's GCStats (debug.hpp's ReadGCStats).
#pragma once

#include <cstdint>
#include <vector>

#include "gort/debug.hpp"
#include "gort/time.hpp"

namespace gort::debug {

// The collector's history, as Go's debug.GCStats, from MemStats' GC fields
// (zero and empty before the first collection). Size PauseQuantiles
// before the call to get min, quantiles and max of the recorded pauses.
struct GCStats {
  time::Time LastGC;
  int64_t NumGC = 0;
  time::Duration PauseTotal;
  std::vector<time::Duration> Pause;     // most recent first
  std::vector<time::Time> PauseEnd;      // most recent first
  std::vector<time::Duration> PauseQuantiles;
};

}  // namespace gort::debug
