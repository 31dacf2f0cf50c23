// selectfan: one goroutine receives from 4 unbuffered channels with select,
// each fed by its own producer; nanoseconds per received item. Mirrors
// anchors/go/selectfan (same flag, same result line).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include "gort/chan.hpp"
#include "gort/go.hpp"
#include "gort/runtime.hpp"
#include "gort/select.hpp"
#include "flags.hpp"

namespace {

long n = 2000000;

double sinceNs(std::chrono::steady_clock::time_point start) {
  return double(std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start).count());
}

void run() {
  constexpr int k = 4;
  gort::chan<long> chs[k];
  long per = n / k;
  for (auto& c : chs) {
    c = gort::make_chan<long>();
    gort::go([per](gort::chan<long> c) {
      for (long j = 0; j < per; j++) c.send(1);
    }, c);
  }
  auto start = std::chrono::steady_clock::now();
  long got = 0;
  auto add = [&got](long v) { got += v; };
  while (got < per * k) {
    gort::select(gort::recv(chs[0], add), gort::recv(chs[1], add), gort::recv(chs[2], add),
                 gort::recv(chs[3], add));
  }
  double el = sinceNs(start);
  std::printf("selectfan: n=%ld %.1f ns/item\n", got, el / double(got));
}

}  // namespace

int main(int argc, char** argv) {
  gortbench::parseFlag(argc, argv, "n", &n);
  return gort::Main(argc, argv, run);
}
