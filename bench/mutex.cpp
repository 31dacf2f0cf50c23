// mutex: G goroutines increment one counter under a sync::Mutex, N times in
// total; nanoseconds per locked increment. Mirrors anchors/go/mutex (same
// flags, same result line).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include "gort/go.hpp"
#include "gort/runtime.hpp"
#include "gort/sync.hpp"
#include "flags.hpp"

namespace {

long n = 10000000;
long goroutines = 8;

void run() {
  gort::sync::Mutex mu;
  gort::sync::WaitGroup wg;
  long counter = 0;
  const long per = n / goroutines;
  auto start = std::chrono::steady_clock::now();
  for (long i = 0; i < goroutines; i++) {
    wg.Add(1);
    gort::go([&] {
      for (long j = 0; j < per; j++) {
        mu.Lock();
        counter++;
        mu.Unlock();
      }
      wg.Done();
    });
  }
  wg.Wait();
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start).count();
  if (counter != per * goroutines) throw std::runtime_error("mutex: lost increments");
  std::printf("mutex: n=%ld g=%ld %.1f ns/op\n", counter, goroutines, double(ns) / double(counter));
}

}  // namespace

int main(int argc, char** argv) {
  gortbench::parseFlag(argc, argv, "n", &n);
  gortbench::parseFlag(argc, argv, "g", &goroutines);
  return gort::Main(argc, argv, run);
}
