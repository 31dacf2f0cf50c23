// metrics.cpp: package runtime/metrics (mirrors runtime/metrics.go and
// runtime/metrics/description.go), Go 1.19's metric set.
//
// Each metric is a row: its name, kind and cumulativeness (Go 1.19's,
// checked by tests/pprof against Go's own description.go), and a function
// computing it from one snapshot of the runtime's counters (ReadMemStats'
// heap and allocation totals, the goroutine count, GOMAXPROCS), taken once
// per Read so that related metrics agree. Metrics of parts gort does not
// have report their true value: the GC CPU limiter's cycle and cgo calls
// are zero. /sched/latencies:seconds is empty:
// the scheduler does not time runnable-to-running transitions yet.
//
// The collector's counters come from MemStats (NumGC, NumForcedGC, NextGC,
// the pause ring): zero until a collection has run. /gc/pauses:seconds
// covers the last 256 pauses once there have been more.
//
// Histograms use Go's bucket boundaries: size classes + 1 byte for the
// allocation sizes, the timeHistogram's 45x16 exponential buckets for
// durations.
#include "gort/metrics.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "gort/panic.hpp"
#include "gort/runtime.hpp"
#include "runtime/mstats.hpp"
#include "runtime/sizeclasses.hpp"
#include "runtime/stack.hpp"

namespace gort::metrics {

namespace {

struct Snapshot {
  runtime::MemStats mem;
  internal::AllocTotals alloc;
  uint64_t goroutines = 0, gomaxprocs = 0;
};

const double kInf = std::numeric_limits<double>::infinity();

std::vector<double> sizeClassBuckets() {
  std::vector<double> b(internal::kNumSizeClasses);
  b[0] = 1;  // the smallest allocation is a byte
  for (int i = 1; i < internal::kNumSizeClasses; i++) b[i] = double(internal::kClassToSize[i] + 1);
  b.push_back(kInf);
  return b;
}

// Go's timeHistogram: 16 linear nanosecond buckets, then 44 super-buckets
// of 16 sub-buckets each, in seconds; -Inf and +Inf at the ends.
std::vector<double> timeBuckets() {
  constexpr int kSubBits = 4, kSub = 1 << kSubBits, kSuper = 45;
  std::vector<double> b(kSuper * kSub + 2);
  b[0] = -kInf;
  for (int i = 0; i < kSub; i++) b[size_t(i) + 1] = double(i) / 1e9;
  for (int i = 0; i < kSuper - 1; i++) {
    for (int j = 0; j < kSub; j++) {
      uint64_t ns = (uint64_t(1) << (i + kSubBits)) | (uint64_t(j) << i);
      b[size_t((i + 1) * kSub + j + 1)] = double(ns) / 1e9;
    }
  }
  b.back() = kInf;
  return b;
}

Float64Histogram emptyTimeHistogram() {
  Float64Histogram h;
  h.Buckets = timeBuckets();
  h.Counts.assign(h.Buckets.size() - 1, 0);
  return h;
}

// The collector's pauses, from MemStats' ring of the last 256 (all of them
// until there have been more).
Float64Histogram pauseHistogram(const runtime::MemStats& m) {
  Float64Histogram h = emptyTimeHistogram();
  uint32_t n = std::min<uint32_t>(m.NumGC, 256);
  for (uint32_t i = 0; i < n; i++) {
    double sec = double(m.PauseNs[(m.NumGC - 1 - i) % 256]) / 1e9;
    // The bucket whose [lo, hi) holds sec: the last boundary <= sec.
    auto it = std::upper_bound(h.Buckets.begin(), h.Buckets.end(), sec);
    h.Counts[size_t(it - h.Buckets.begin()) - 1]++;
  }
  return h;
}

// Counts per size class (class 0 unused: large objects go in the last).
Float64Histogram bySize(const uint64_t* perClass, uint64_t large) {
  Float64Histogram h;
  h.Buckets = sizeClassBuckets();
  h.Counts.assign(h.Buckets.size() - 1, 0);
  for (int i = 1; i < internal::kNumSizeClasses; i++) h.Counts[size_t(i) - 1] = perClass[i];
  h.Counts.back() = large;
  return h;
}

uint64_t smallObjects(const uint64_t* perClass) {
  uint64_t n = 0;
  for (int i = 1; i < internal::kNumSizeClasses; i++) n += perClass[i];
  return n;
}

uint64_t smallBytes(const uint64_t* perClass) {
  uint64_t n = 0;
  for (int i = 1; i < internal::kNumSizeClasses; i++) n += perClass[i] * internal::kClassToSize[i];
  return n;
}

uint64_t sub(uint64_t a, uint64_t b) { return a > b ? a - b : 0; }

using Compute = void (*)(const Snapshot&, Value*);

struct Metric {
  Description desc;
  Compute compute;
};

#define U64(expr) [](const Snapshot& s, Value* v) { (void)s; v->setUint64(uint64_t(expr)); }

const std::vector<Metric>& table() {
  static const std::vector<Metric> t = {
      {{"/cgo/go-to-c-calls:calls", "Calls made from Go to C (gort has no cgo).", KindUint64, true}, U64(0)},
      {{"/gc/cycles/automatic:gc-cycles", "Completed GC cycles started by the runtime.", KindUint64, true},
       U64(sub(s.mem.NumGC, s.mem.NumForcedGC))},
      {{"/gc/cycles/forced:gc-cycles", "Completed GC cycles the program forced.", KindUint64, true},
       U64(s.mem.NumForcedGC)},
      {{"/gc/cycles/total:gc-cycles", "All completed GC cycles.", KindUint64, true}, U64(s.mem.NumGC)},
      {{"/gc/heap/allocs-by-size:bytes", "Heap allocations by approximate size (tiny blocks, not tiny objects).",
        KindFloat64Histogram, true},
       [](const Snapshot& s, Value* v) { v->setHistogram(bySize(s.alloc.nmalloc, s.alloc.largeAllocCount)); }},
      {{"/gc/heap/allocs:bytes", "Bytes allocated on the heap, cumulative.", KindUint64, true},
       U64(smallBytes(s.alloc.nmalloc) + s.alloc.largeAlloc)},
      {{"/gc/heap/allocs:objects", "Heap allocations, cumulative (tiny blocks, not tiny objects).", KindUint64, true},
       U64(smallObjects(s.alloc.nmalloc) + s.alloc.largeAllocCount)},
      {{"/gc/heap/frees-by-size:bytes", "Freed heap allocations by approximate size.", KindFloat64Histogram, true},
       [](const Snapshot& s, Value* v) { v->setHistogram(bySize(s.alloc.nfree, s.alloc.largeFreeCount)); }},
      {{"/gc/heap/frees:bytes", "Heap bytes freed by the collector, cumulative.", KindUint64, true},
       U64(smallBytes(s.alloc.nfree) + s.alloc.largeFree)},
      {{"/gc/heap/frees:objects", "Heap objects freed by the collector, cumulative.", KindUint64, true},
       U64(smallObjects(s.alloc.nfree) + s.alloc.largeFreeCount)},
      {{"/gc/heap/goal:bytes", "Heap size target of the current GC cycle (none without a collector).", KindUint64,
        false},
       U64(s.mem.NextGC)},
      {{"/gc/heap/objects:objects", "Objects, live or unswept, occupying heap memory.", KindUint64, false},
       U64(s.mem.HeapObjects)},
      {{"/gc/heap/tiny/allocs:objects", "Small allocations packed together into tiny blocks.", KindUint64, true},
       U64(s.alloc.tiny)},
      {{"/gc/limiter/last-enabled:gc-cycle", "GC cycle when the CPU limiter was last enabled (0: never).",
        KindUint64, false},
       U64(0)},
      {{"/gc/pauses:seconds", "Distribution of stop-the-world GC pause latencies.", KindFloat64Histogram, true},
       [](const Snapshot& s, Value* v) { v->setHistogram(pauseHistogram(s.mem)); }},
      {{"/gc/stack/starting-size:bytes", "Stack size of new goroutines.", KindUint64, false},
       U64(internal::maxStackSize())},
      {{"/memory/classes/heap/free:bytes", "Free heap memory still backed by physical memory.", KindUint64, false},
       U64(sub(s.mem.HeapIdle, s.mem.HeapReleased))},
      {{"/memory/classes/heap/objects:bytes", "Heap memory held by objects not yet freed.", KindUint64, false},
       U64(s.mem.HeapAlloc)},
      {{"/memory/classes/heap/released:bytes", "Free heap memory returned to the system.", KindUint64, false},
       U64(s.mem.HeapReleased)},
      {{"/memory/classes/heap/stacks:bytes", "Heap memory reserved for goroutine stacks.", KindUint64, false},
       U64(s.mem.StackInuse)},
      {{"/memory/classes/heap/unused:bytes", "Heap memory reserved for objects but not holding any.", KindUint64,
        false},
       U64(sub(s.mem.HeapInuse, s.mem.HeapAlloc))},
      {{"/memory/classes/metadata/mcache/free:bytes", "Memory reserved for mcaches but not in use.", KindUint64,
        false},
       U64(sub(s.mem.MCacheSys, s.mem.MCacheInuse))},
      {{"/memory/classes/metadata/mcache/inuse:bytes", "Memory used by mcaches.", KindUint64, false},
       U64(s.mem.MCacheInuse)},
      {{"/memory/classes/metadata/mspan/free:bytes", "Memory reserved for mspans but not in use.", KindUint64, false},
       U64(sub(s.mem.MSpanSys, s.mem.MSpanInuse))},
      {{"/memory/classes/metadata/mspan/inuse:bytes", "Memory used by mspans.", KindUint64, false},
       U64(s.mem.MSpanInuse)},
      {{"/memory/classes/metadata/other:bytes", "Other runtime metadata (mark bits and the like).", KindUint64, false},
       U64(s.mem.GCSys)},
      {{"/memory/classes/os-stacks:bytes", "Stacks allocated by the OS for threads (not counted by gort).", KindUint64,
        false},
       U64(0)},
      {{"/memory/classes/other:bytes", "Other runtime memory.", KindUint64, false}, U64(s.mem.OtherSys)},
      {{"/memory/classes/profiling/buckets:bytes", "Memory used by profiling stack buckets.", KindUint64, false},
       U64(s.mem.BuckHashSys)},
      {{"/memory/classes/total:bytes", "All memory the runtime mapped; the sum of /memory/classes.", KindUint64, false},
       U64(s.mem.Sys)},
      {{"/sched/gomaxprocs:threads", "The current GOMAXPROCS.", KindUint64, false}, U64(s.gomaxprocs)},
      {{"/sched/goroutines:goroutines", "Live goroutines.", KindUint64, false}, U64(s.goroutines)},
      {{"/sched/latencies:seconds", "Time goroutines spent runnable before running (not yet measured by gort).",
        KindFloat64Histogram, false},
       [](const Snapshot&, Value* v) { v->setHistogram(emptyTimeHistogram()); }},
  };
  return t;
}

#undef U64

}  // namespace

const std::vector<Description>& All() {
  static const std::vector<Description> all = [] {
    std::vector<Description> d;
    for (const auto& m : table()) d.push_back(m.desc);
    return d;
  }();
  return all;
}

uint64_t Value::Uint64() const {
  if (kind_ != KindUint64) panic(std::string("called Uint64 on non-uint64 metric value"));
  return u_;
}
double Value::Float64() const {
  if (kind_ != KindFloat64) panic(std::string("called Float64 on non-float64 metric value"));
  return f_;
}
const metrics::Float64Histogram& Value::Float64Histogram() const {
  if (kind_ != KindFloat64Histogram) panic(std::string("called Float64Histogram on non-Float64Histogram metric value"));
  return h_;
}

void Read(std::span<Sample> samples) {
  Snapshot s;
  runtime::ReadMemStats(&s.mem);
  s.alloc = internal::allocTotals();
  s.goroutines = uint64_t(runtime::NumGoroutine());
  s.gomaxprocs = uint64_t(runtime::GOMAXPROCS(0));
  const auto& t = table();
  for (Sample& sm : samples) {
    auto it = std::lower_bound(t.begin(), t.end(), sm.Name, [](const Metric& m, const std::string& n) { return m.desc.Name < n; });
    if (it == t.end() || it->desc.Name != sm.Name) {
      sm.Value.setBad();
      continue;
    }
    it->compute(s, &sm.Value);
  }
}

}  // namespace gort::metrics
