// memlimit: a live set of 128-node chains of 128-byte objects, replaced
// round after round; reports the time, the collections, the GC's share of
// the CPU and the peak RSS, the figures GOMEMLIMIT (with or without GOGC)
// is judged by. Mirrors anchors/go/memlimit (same flags, same result line).
#include <chrono>
#include <cstdio>
#include <cstring>
#include <vector>

#include "gort/metrics.hpp"
#include "gort/new.hpp"
#include "gort/runtime.hpp"
#include "gort/slice.hpp"
#include "flags.hpp"

namespace {

long liveMiB = 200, rounds = 10;

struct Node {
  using trivially_collected = void;  // nothing to release: the collector frees it in bulk
  gort::Ptr<Node> next;
  int64_t pad[15] = {};  // 128-byte objects
};

long hwmKiB() {
  std::FILE* f = std::fopen("/proc/self/status", "r");
  if (!f) return 0;
  char line[256];
  long v = 0;
  while (std::fgets(line, sizeof line, f)) {
    if (std::strncmp(line, "VmHWM:", 6) == 0) v = std::atol(line + 6);
  }
  std::fclose(f);
  return v;
}

void run() {
  constexpr int kChainLen = 128;
  int64_t chains = (liveMiB << 20) / (128 * kChainLen);
  auto slots = gort::make_slice<gort::Ptr<Node>>(chains);
  auto build = [] {
    gort::Ptr<Node> h;
    for (int j = 0; j < kChainLen; j++) {
      auto n = gort::New<Node>();
      n->next = h;
      h = n;
    }
    return h;
  };
  auto start = std::chrono::steady_clock::now();
  for (long r = 0; r <= rounds; r++) {
    for (int64_t i = 0; i < chains; i++) slots[i] = build();
  }
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start).count();
  gort::runtime::MemStats ms;
  gort::runtime::ReadMemStats(&ms);
  std::vector<gort::metrics::Sample> s{{"/gc/limiter/last-enabled:gc-cycle", {}}};
  gort::metrics::Read(s);
  std::printf("memlimit: live=%ld MiB rounds=%ld %.0f ms gcs=%u gc_cpu=%.1f%% peak_rss=%ld MiB limiter_last=%llu\n",
              liveMiB, rounds, double(us) / 1000, ms.NumGC, ms.GCCPUFraction * 100, hwmKiB() >> 10,
              (unsigned long long)s[0].Value.Uint64());
}

}  // namespace

int main(int argc, char** argv) {
  gortbench::parseFlag(argc, argv, "live", &liveMiB);
  gortbench::parseFlag(argc, argv, "rounds", &rounds);
  return gort::Main(argc, argv, run);
}
