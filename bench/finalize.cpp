// finalize: allocate N objects that each carry a finalizer (SetFinalizer)
// and drop them; report ns per object from allocation to its finalizer
// having run, and how many ran. Mirrors anchors/go/finalize (same flag,
// same result line).
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>

#include "gort/new.hpp"
#include "gort/runtime.hpp"
#include "gort/runtime_final.hpp"
#include "gort/time.hpp"
#include "flags.hpp"

namespace {

long n = 1000000;
std::atomic<int64_t> ran{0};

struct res {
  long id;
  int64_t pad[3] = {};
  explicit res(long i) : id(i) {}
};

// Not inlined into run, so that no frame of it lingers on the stack the
// collector scans while run waits.
[[gnu::noinline]] void allocate() {
  for (long i = 0; i < n; i++) {
    auto r = gort::New<res>(i);
    gort::runtime::SetFinalizer(r, [](res*) { ran.fetch_add(1, std::memory_order_relaxed); });
  }
}

void run() {
  auto start = std::chrono::steady_clock::now();
  allocate();
  while (ran.load() < n) {
    gort::runtime::GC();
    gort::time::Sleep(gort::time::Millisecond);
  }
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start).count();
  std::printf("finalize: n=%ld %.1f ns/object ran=%lld\n", n, double(ns) / double(n), (long long)ran.load());
}

}  // namespace

int main(int argc, char** argv) {
  gortbench::parseFlag(argc, argv, "n", &n);
  return gort::Main(argc, argv, run);
}
