// idle: park N goroutines on one channel and report resident memory per
// goroutine (VmRSS from /proc/self/status), then release them. Mirrors
// anchors/go/idle (same flag, same result line).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <fstream>

#include "gort/chan.hpp"
#include "gort/go.hpp"
#include "gort/runtime.hpp"
#include "gort/sync.hpp"
#include "flags.hpp"

namespace {

long n = 1000000;

long rssKiB() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
  }
  return 0;
}

struct Empty {};

void run() {
  long before = rssKiB();
  auto gate = gort::make_chan<Empty>();
  gort::sync::WaitGroup started, done;
  started.Add(int(n));
  done.Add(int(n));
  for (long i = 0; i < n; i++) {
    gort::go([&started, &done, gate] {
      started.Done();
      gate.recv();
      done.Done();
    });
  }
  started.Wait();
  long after = rssKiB();
  gort::close(gate);
  done.Wait();
  std::printf("idle: n=%ld %.0f bytes/goroutine\n", n, double(after - before) * 1024 / double(n));
}

}  // namespace

int main(int argc, char** argv) {
  gortbench::parseFlag(argc, argv, "n", &n);
  return gort::Main(argc, argv, run);
}
