// deferpanic: the cost of a function with one deferred call, and of a panic
// that a deferred call recovers; nanoseconds per call for each. Mirrors
// anchors/go/deferpanic (same flags, same result line): withDefer and
// panicRecover are the Go functions, with named result r.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "gort/panic.hpp"
#include "gort/runtime.hpp"
#include "flags.hpp"

namespace {

long n = 10000000;
long sink = 0;

[[gnu::noinline]] long withDefer(long i) {
  long r = 0;
  gort::func([&](gort::Defer& defer) {
    defer([&] { r += i; });
    r = i;
  });
  return r;
}

[[gnu::noinline]] long panicRecover(long i) {
  long r = 0;
  gort::func([&](gort::Defer& defer) {
    defer([&] {
      if (gort::any v = gort::recover()) r = gort::as<long>(v);
    });
    gort::panic(i);
  });
  return r;
}

double nsPerCall(std::chrono::steady_clock::time_point start, long calls) {
  auto d = std::chrono::steady_clock::now() - start;
  return double(std::chrono::duration_cast<std::chrono::nanoseconds>(d).count()) / double(calls);
}

void run() {
  auto start = std::chrono::steady_clock::now();
  for (long i = 0; i < n; i++) sink += withDefer(i);
  double d = nsPerCall(start, n);
  long m = n / 10;
  start = std::chrono::steady_clock::now();
  for (long i = 0; i < m; i++) sink += panicRecover(i);
  double p = nsPerCall(start, m);
  std::printf("deferpanic: n=%ld defer=%.1f ns/call panic_recover=%.1f ns/call\n", n, d, p);
}

}  // namespace

int main(int argc, char** argv) {
  gortbench::parseFlag(argc, argv, "n", &n);
  return gort::Main(argc, argv, run);
}
