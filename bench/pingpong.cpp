// pingpong: two goroutines pass a token back and forth over two unbuffered
// channels; nanoseconds per round trip (two hand-offs). Mirrors the Go
// anchor anchors/go/pingpong (same flags, same result line).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "gort/chan.hpp"
#include "gort/go.hpp"
#include "gort/runtime.hpp"
#include "flags.hpp"

namespace {

long n = 1000000;
gortbench::ProfFlags* profFlags;

void run() {
  profFlags->start();
  auto ping = gort::make_chan<long>(), pong = gort::make_chan<long>();
  gort::go([ping, pong] {
    for (long v : ping) pong.send(v + 1);
    gort::close(pong);
  });
  auto start = std::chrono::steady_clock::now();
  long v = 0;
  for (long i = 0; i < n; i++) {
    ping.send(v);
    v = pong.recv();
  }
  auto el = std::chrono::steady_clock::now() - start;
  profFlags->stop();
  gort::close(ping);
  if (v != n) throw std::runtime_error("pingpong: bad count");
  std::printf("pingpong: n=%ld %.1f ns/roundtrip\n", n,
              double(std::chrono::duration_cast<std::chrono::nanoseconds>(el).count()) / double(n));
}

}  // namespace

int main(int argc, char** argv) {
  gortbench::ProfFlags prof(argc, argv);
  profFlags = &prof;
  gortbench::parseFlag(argc, argv, "n", &n);
  return gort::Main(argc, argv, run);
}
