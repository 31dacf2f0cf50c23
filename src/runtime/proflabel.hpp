// proflabel.hpp: a goroutine's profiler labels (mirrors runtime/proflabel.go).
//
// pprof::Do and SetGoroutineLabels give a goroutine a label set; a goroutine
// starts with its creator's; every CPU sample and goroutine-profile record
// carries the set of the goroutine it caught. A set is immutable once
// published and reference counted (Go leaves it to the collector): one
// reference for each g holding it, each context value naming it, and each
// CPU sample not yet aggregated.
//
// Invariant that makes the SIGPROF handler safe: only the goroutine itself
// replaces g.labels (SetGoroutineLabels retains the new set, publishes it,
// then releases the old), and the handler runs on that goroutine's thread,
// so the set it reads is never released while it retains it.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "runtime/sanitizer.hpp"

namespace gort::internal {

struct ProfLabels {
  std::atomic<int64_t> refs{1};
  std::vector<std::pair<std::string, std::string>> kv;  // sorted by key, keys unique
};

// Async-signal-safe (an atomic increment).
inline ProfLabels* labelsRetain(ProfLabels* l) {
  if (l) l->refs.fetch_add(1, std::memory_order_relaxed);
  return l;
}
// Not from a signal handler: the last release frees the set. The count's
// acq_rel orders every holder's reads before the free; the race detector,
// which misses that edge across goroutine switches, is told it (as
// libstdc++'s shared_ptr tells it).
inline void labelsRelease(ProfLabels* l) {
  if (!l) return;
  san::release(l);
  if (l->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) {
    san::acquire(l);
    delete l;
  }
}

}  // namespace gort::internal
