// metrics.hpp: package runtime/metrics, Go 1.19's metric set.
//
//   std::vector<metrics::Sample> s;
//   for (const auto& d : metrics::All()) s.push_back({d.Name, {}});
//   metrics::Read(s);
//   if (s[0].Value.Kind() == metrics::KindUint64) ... s[0].Value.Uint64() ...
//
// Names, kinds and units are Go 1.19's exactly, so dashboards built for Go
// programs read gort's. Values come from the runtime's own counters; a
// metric of a part gort does not have (cgo, the GC CPU limiter) reads its
// true value, zero, and /sched/latencies:seconds is empty (not measured).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace gort::metrics {

enum ValueKind { KindBad, KindUint64, KindFloat64, KindFloat64Histogram };

struct Description {
  std::string Name;  // "/path:unit"
  std::string Description;
  ValueKind Kind = KindBad;
  bool Cumulative = false;
};
// Every supported metric, sorted by name.
const std::vector<Description>& All();

// Counts[i] samples fell in [Buckets[i], Buckets[i+1]); Buckets may start at
// -Inf and end at +Inf.
struct Float64Histogram {
  std::vector<uint64_t> Counts;
  std::vector<double> Buckets;
};

class Value {
 public:
  ValueKind Kind() const { return kind_; }
  // Each panics unless Kind() matches, as Go's do.
  uint64_t Uint64() const;
  double Float64() const;
  const metrics::Float64Histogram& Float64Histogram() const;

  void setUint64(uint64_t v) { kind_ = KindUint64, u_ = v; }
  void setFloat64(double v) { kind_ = KindFloat64, f_ = v; }
  void setHistogram(metrics::Float64Histogram h) { kind_ = KindFloat64Histogram, h_ = std::move(h); }
  void setBad() { kind_ = KindBad; }

 private:
  ValueKind kind_ = KindBad;
  uint64_t u_ = 0;
  double f_ = 0;
  metrics::Float64Histogram h_;
};

struct Sample {
  std::string Name;
  metrics::Value Value;
};
// Fills each sample's Value; an unknown name gets KindBad.
void Read(std::span<Sample> samples);

}  // namespace gort::metrics
