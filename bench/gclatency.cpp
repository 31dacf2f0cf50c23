// gclatency: a large live heap of 64-node chains, one chain replaced per
// step; reports the collector's pauses (MemStats.PauseNs) and the worst
// wall-clock stall seen every 64 steps. Mirrors anchors/go/gclatency (same
// flags, same result line).
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <vector>

#include "gort/new.hpp"
#include "gort/runtime.hpp"
#include "gort/slice.hpp"
#include "flags.hpp"

namespace {

long live = 4000000, ops = 2000000;

struct Node {
  using trivially_collected = void;  // nothing to release: the collector frees it in bulk
  gort::Ptr<Node> next;
  int64_t data[6] = {};
};

gort::Ptr<Node> chain(int n) {
  gort::Ptr<Node> h;
  for (int i = 0; i < n; i++) {
    auto node = gort::New<Node>();
    node->next = h;
    h = node;
  }
  return h;
}

void run() {
  constexpr int kChainLen = 64;
  using Clock = std::chrono::steady_clock;
  auto slots = gort::make_slice<gort::Ptr<Node>>(live / kChainLen);
  for (int64_t i = 0; i < gort::len(slots); i++) slots[i] = chain(kChainLen);
  uint64_t x = 88172645463325252ull;
  Clock::duration worst{};
  auto start = Clock::now();
  auto last = start;
  for (long i = 0; i < ops; i++) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    slots[int64_t(x % uint64_t(gort::len(slots)))] = chain(kChainLen);
    if (i % 64 == 0) {
      auto now = Clock::now();
      worst = std::max(worst, now - last);
      last = now;
    }
  }
  auto el = Clock::now() - start;
  gort::runtime::MemStats ms;
  gort::runtime::ReadMemStats(&ms);
  size_t k = std::min<size_t>(ms.NumGC, 256);
  std::vector<uint64_t> p(ms.PauseNs, ms.PauseNs + k);
  std::sort(p.begin(), p.end());
  uint64_t max = k ? p[k - 1] : 0, p99 = k ? p[k * 99 / 100] : 0;
  auto us = [](Clock::duration d) { return double(std::chrono::duration_cast<std::chrono::microseconds>(d).count()); };
  std::printf(
      "gclatency: live=%ld ops=%ld %.0f ms gcs=%u max_pause=%.3f ms p99_pause=%.3f ms worst_stall=%.3f ms heap_sys=%llu "
      "MiB\n",
      live, ops, us(el) / 1000, ms.NumGC, double(max) / 1e6, double(p99) / 1e6, us(worst) / 1000,
      (unsigned long long)(ms.HeapSys >> 20));
}

}  // namespace

int main(int argc, char** argv) {
  gortbench::parseFlag(argc, argv, "live", &live);
  gortbench::parseFlag(argc, argv, "ops", &ops);
  return gort::Main(argc, argv, run);
}
