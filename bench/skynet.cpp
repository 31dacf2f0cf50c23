// skynet: a 10-ary tree of goroutines with 1,000,000 leaves; each leaf sends
// its ordinal on its parent's channel and each node sums its children's.
// Mirrors anchors/go/skynet (same flags, same result line).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include "gort/chan.hpp"
#include "gort/go.hpp"
#include "gort/runtime.hpp"
#include "flags.hpp"

namespace {

long size = 1000000;
gortbench::ProfFlags* profFlags;

void skynet(gort::chan<long> c, long num, long size, long div) {
  if (size == 1) {
    c.send(num);
    return;
  }
  auto rc = gort::make_chan<long>();
  long sum = 0;
  for (long i = 0; i < div; i++) {
    long subNum = num + i * (size / div);
    gort::go(skynet, rc, subNum, size / div, div);
  }
  for (long i = 0; i < div; i++) sum += rc.recv();
  c.send(sum);
}

void run() {
  profFlags->start();
  auto start = std::chrono::steady_clock::now();
  auto c = gort::make_chan<long>();
  gort::go(skynet, c, 0L, size, 10L);
  long sum = c.recv();
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start).count();
  profFlags->stop();
  long want = size * (size - 1) / 2;
  if (sum != want) {
    throw std::runtime_error("skynet: got " + std::to_string(sum) + " want " + std::to_string(want));
  }
  std::printf("skynet: n=%ld sum=%ld %.1f ms\n", size, sum, double(us) / 1000);
}

}  // namespace

int main(int argc, char** argv) {
  gortbench::ProfFlags prof(argc, argv);
  profFlags = &prof;
  gortbench::parseFlag(argc, argv, "n", &size);
  return gort::Main(argc, argv, run);
}
