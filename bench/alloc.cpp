// alloc: G goroutines each allocate N/G heap objects of S bytes, keeping
// the last K of each goroutine alive in a ring. Objects hold one pointer to
// a per-goroutine home object (scan), or none (noscan: byte arrays).
// Mirrors anchors/go/alloc (same flags, same result line); -glibc=true runs
// the same loop on glibc's malloc/free instead (the ring's displaced object
// is freed), the baseline BENCHMARKS.md reports next to gort and Go.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "gort/go.hpp"
#include "gort/new.hpp"
#include "gort/runtime.hpp"
#include "gort/slice.hpp"
#include "gort/sync.hpp"
#include "flags.hpp"

namespace {

long n = 20000000, g = 1, size = 16, keep = 4096;
bool scan = true, glibc = false;

template <int Words>
struct Small {
  using trivially_collected = void;  // its destructor would only drop the Ptr
  gort::Ptr<Small> next;
  int64_t pad[Words - 1] = {};
};
template <int Words>
struct RawSmall {
  RawSmall* next = nullptr;
  int64_t pad[Words - 1] = {};
};

template <int Words>
void runGort(long count) {
  using T = Small<Words>;
  static_assert(sizeof(T) == Words * 8);
  auto ring = gort::make_slice<gort::Ptr<T>>(keep);
  auto raw = gort::make_slice<gort::slice<char>>(keep);
  auto home = gort::New<T>();
  for (long i = 0; i < count; i++) {
    if (scan) {
      auto o = gort::New<T>();
      o->next = home;
      ring[i % keep] = o;
    } else {
      raw[i % keep] = gort::make_slice<char>(Words * 8);
    }
  }
}

template <int Words>
void runGlibc(long count) {
  using T = RawSmall<Words>;
  std::vector<T*> ring(size_t(keep), nullptr);
  std::vector<char*> raw(size_t(keep), nullptr);
  T* home = new T();
  for (long i = 0; i < count; i++) {
    if (scan) {
      T* o = new T();
      o->next = home;
      delete ring[size_t(i % keep)];
      ring[size_t(i % keep)] = o;
    } else {
      char* b = static_cast<char*>(std::calloc(1, Words * 8));
      std::free(raw[size_t(i % keep)]);
      raw[size_t(i % keep)] = b;
    }
  }
  for (T* o : ring) delete o;
  for (char* b : raw) std::free(b);
  delete home;
}

template <int Words>
void runOne(long count) {
  glibc ? runGlibc<Words>(count) : runGort<Words>(count);
}

void run() {
  void (*body)(long) = size == 16 ? runOne<2> : size == 64 ? runOne<8> : size == 256 ? runOne<32> : nullptr;
  if (!body) gort::panic(gort::any(std::string("alloc: size must be 16, 64 or 256")));
  long per = n / g;
  gort::sync::WaitGroup wg;
  auto start = std::chrono::steady_clock::now();
  for (long i = 0; i < g; i++) {
    wg.Add(1);
    gort::go([&] {
      body(per);
      wg.Done();
    });
  }
  wg.Wait();
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start).count();
  gort::runtime::MemStats ms;
  gort::runtime::ReadMemStats(&ms);
  std::printf("alloc: n=%ld g=%ld size=%ld scan=%s %.1f ns/alloc gcs=%u heap_sys=%llu MiB\n", per * g, g, size,
              scan ? "true" : "false", double(ns) / double(per * g), ms.NumGC,
              (unsigned long long)(ms.HeapSys >> 20));
}

}  // namespace

int main(int argc, char** argv) {
  gortbench::parseFlag(argc, argv, "n", &n);
  gortbench::parseFlag(argc, argv, "g", &g);
  gortbench::parseFlag(argc, argv, "size", &size);
  gortbench::parseFlag(argc, argv, "keep", &keep);
  gortbench::parseBoolFlag(argc, argv, "scan", &scan);
  gortbench::parseBoolFlag(argc, argv, "glibc", &glibc);
  return gort::Main(argc, argv, run);
}
