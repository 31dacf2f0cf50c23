// spawn: start N goroutines that each signal a WaitGroup, then wait for all:
// the cost of `go f()` plus scheduling plus exit. Mirrors anchors/go/spawn
// (same flag, same result line).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "gort/go.hpp"
#include "gort/runtime.hpp"
#include "gort/sync.hpp"
#include "flags.hpp"

namespace {

long n = 1000000;

void run() {
  gort::sync::WaitGroup wg;
  auto start = std::chrono::steady_clock::now();
  wg.Add(int(n));
  for (long i = 0; i < n; i++) gort::go([&wg] { wg.Done(); });
  wg.Wait();
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start).count();
  std::printf("spawn: n=%ld %.1f ns/goroutine\n", n, double(ns) / double(n));
}

}  // namespace

int main(int argc, char** argv) {
  gortbench::parseFlag(argc, argv, "n", &n);
  return gort::Main(argc, argv, run);
}
