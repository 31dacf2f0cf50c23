// consumer: the smallest real gort program, built by scripts/test.sh against
// an installed gort (find_package) and against the source tree
// (add_subdirectory). It includes every public header through gort/gort.hpp,
// so a header that needs something not installed fails here. 100 goroutines
// send their numbers over a channel, a WaitGroup says when they are done;
// the exit status tells whether the sum came out right.
#include <cstdio>
#include <cstdlib>

#include "gort/gort.hpp"

namespace {

void consumerMain() {
  constexpr int kGoroutines = 100;
  auto nums = gort::make_chan<int>(kGoroutines);
  gort::sync::WaitGroup wg;
  for (int i = 1; i <= kGoroutines; i++) {
    wg.Add(1);
    gort::go([&wg](gort::send_only<int> out, int k) {
      out.send(k);
      wg.Done();
    }, nums, i);
  }
  wg.Wait();
  gort::close(nums);
  int sum = 0;
  for (int v : nums) sum += v;
  const int want = kGoroutines * (kGoroutines + 1) / 2;
  std::printf("consumer: %d goroutines summed to %d (%s), runtime %s\n", kGoroutines, sum,
              sum == want ? "ok" : "WRONG", gort::runtime::Version().c_str());
  if (sum != want) std::exit(1);
}

}  // namespace

int main(int argc, char** argv) { gort::Main(argc, argv, consumerMain); }
