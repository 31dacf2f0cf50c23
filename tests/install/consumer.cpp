// consumer: the smallest real gort program. Main owns the process, 100
// goroutines each add their number into an atomic sum, and main yields until
// they are done; the exit status tells scripts/test.sh whether it worked.
#include <atomic>
#include <cstdio>
#include <cstdlib>

#include "gort/go.hpp"
#include "gort/runtime.hpp"

namespace {

std::atomic<int> sum{0};
std::atomic<int> finished{0};

void consumerMain() {
  constexpr int kGoroutines = 100;
  for (int i = 1; i <= kGoroutines; i++) {
    gort::go([](int k) {
      sum.fetch_add(k);
      finished.fetch_add(1);
    }, i);
  }
  while (finished.load() < kGoroutines) gort::runtime::Gosched();
  const int want = kGoroutines * (kGoroutines + 1) / 2;
  std::printf("consumer: %d goroutines summed to %d (%s), runtime %s\n", kGoroutines,
              sum.load(), sum.load() == want ? "ok" : "WRONG",
              gort::runtime::Version().c_str());
  if (sum.load() != want) std::exit(1);
}

}  // namespace

int main(int argc, char** argv) { gort::Main(argc, argv, consumerMain); }
