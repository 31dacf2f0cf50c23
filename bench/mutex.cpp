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

namespace {

long n = 10000000;
long goroutines = 8;

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
  parseFlag(argc, argv, "n", &n);
  parseFlag(argc, argv, "g", &goroutines);
  return gort::Main(argc, argv, run);
}
