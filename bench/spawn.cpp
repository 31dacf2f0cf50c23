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

namespace {

long n = 1000000;

// Go's flag syntax for one integer flag: -name=v, --name=v, -name v.
void parseFlag(int argc, char** argv, const char* name, long* v) {
  std::string a = std::string("-") + name, b = "-" + a;
  for (int i = 1; i < argc; i++) {
    std::string s = argv[i];
    for (const std::string& f : {a, b}) {
      if (s == f && i + 1 < argc) *v = std::atol(argv[++i]);
      if (s.rfind(f + "=", 0) == 0) *v = std::atol(s.c_str() + f.size() + 1);
    }
  }
}

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
  parseFlag(argc, argv, "n", &n);
  return gort::Main(argc, argv, run);
}
