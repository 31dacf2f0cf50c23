// timers: G goroutines each sleep K times for a pseudo-random 1..10 ms;
// reports the total wall time and the mean and 99th percentile oversleep.
// Mirrors the Go anchor anchors/go/timers (same flags, same result line);
// the anchor's sync.WaitGroup is a countdown closing a channel here.
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "gort/chan.hpp"
#include "gort/go.hpp"
#include "gort/runtime.hpp"
#include "gort/time.hpp"
#include "flags.hpp"

namespace {

namespace time = gort::time;

long g = 100000, k = 10;

void run() {
  std::vector<std::vector<int64_t>> lates(static_cast<size_t>(g));
  std::atomic<long> pending{g};
  auto done = gort::make_chan<int>();
  time::Time start = time::Now();
  for (long i = 0; i < g; i++) {
    gort::go([i, &lates, &pending, done] {
      uint32_t x = uint32_t(uint64_t(i) * 2654435761ull + 1);
      std::vector<int64_t> l;
      l.reserve(size_t(k));
      for (long j = 0; j < k; j++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        time::Duration d = int64_t(1 + x % 10) * time::Millisecond;
        time::Time t0 = time::Now();
        time::Sleep(d);
        l.push_back((time::Since(t0) - d).Nanoseconds());
      }
      lates[size_t(i)] = std::move(l);
      if (pending.fetch_sub(1) == 1) gort::close(done);
    });
  }
  done.recv();
  time::Duration el = time::Since(start);
  std::vector<int64_t> all;
  all.reserve(size_t(g * k));
  int64_t sum = 0;
  for (auto& l : lates) {
    for (int64_t d : l) {
      all.push_back(d);
      sum += d;
    }
  }
  std::sort(all.begin(), all.end());
  int64_t p99 = all[all.size() * 99 / 100];
  std::printf("timers: g=%ld k=%ld total=%.1f ms mean_late=%.3f ms p99_late=%.3f ms\n", g, k,
              double(el.Microseconds()) / 1000, double(sum / 1000) / 1000 / double(all.size()),
              double(p99 / 1000) / 1000);
}

}  // namespace

int main(int argc, char** argv) {
  gortbench::parseFlag(argc, argv, "g", &g);
  gortbench::parseFlag(argc, argv, "k", &k);
  return gort::Main(argc, argv, run);
}
