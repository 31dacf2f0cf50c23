// chanbuf: P producers and C consumers move N integers through one buffered
// channel of capacity 128; nanoseconds per item. Mirrors anchors/go/chanbuf
// (same flags, same result line).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <vector>

#include "gort/chan.hpp"
#include "gort/go.hpp"
#include "gort/runtime.hpp"
#include "gort/sync.hpp"
#include "flags.hpp"

namespace {

long n = 10000000, np = 4, nc = 4;

double sinceNs(std::chrono::steady_clock::time_point start) {
  return double(std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start).count());
}

void run() {
  auto ch = gort::make_chan<long>(128);
  gort::sync::WaitGroup pw, cw;
  std::vector<long> sums(size_t(nc), 0);
  auto start = std::chrono::steady_clock::now();
  long per = n / np;
  for (long i = 0; i < np; i++) {
    pw.Add(1);
    gort::go([&pw, ch, per](long base) {
      for (long j = 0; j < per; j++) ch.send(base + j);
      pw.Done();
    }, i * per);
  }
  for (long i = 0; i < nc; i++) {
    cw.Add(1);
    gort::go([&cw, &sums, ch](long k) {
      long s = 0;
      for (long v : ch) s += v;
      sums[size_t(k)] = s;
      cw.Done();
    }, i);
  }
  pw.Wait();
  gort::close(ch);
  cw.Wait();
  double el = sinceNs(start);
  long total = 0;
  for (long s : sums) total += s;
  long m = per * np;
  if (total != m * (m - 1) / 2) throw std::runtime_error("chanbuf: bad sum");
  std::printf("chanbuf: n=%ld p=%ld c=%ld %.1f ns/item\n", m, np, nc, el / double(m));
}

}  // namespace

int main(int argc, char** argv) {
  gortbench::parseFlag(argc, argv, "n", &n);
  gortbench::parseFlag(argc, argv, "p", &np);
  gortbench::parseFlag(argc, argv, "c", &nc);
  return gort::Main(argc, argv, run);
}
