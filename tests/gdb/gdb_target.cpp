// gdb_target: the program gdb_test debugs. Ten goroutines block receiving
// from a channel nobody sends on, three sleep for an hour, and once all
// thirteen have said they are about to block (and had time to park), the
// main goroutine calls gdb_breakpoint_here, where the test's gdb stops.
#include <atomic>
#include <cstdio>

#include "gort/chan.hpp"
#include "gort/go.hpp"
#include "gort/runtime.hpp"
#include "gort/time.hpp"

namespace {

std::atomic<int> parking{0};
bool waitAtEnd = false;

[[gnu::noinline]] void blockedReceiver(gort::chan<int> ch) {
  parking.fetch_add(1);
  int v = ch.recv();  // never sent: parks in "chan receive"
  asm volatile("" ::"r"(v));
}

[[gnu::noinline]] void longSleeper() {
  parking.fetch_add(1);
  gort::time::Sleep(gort::time::Hour);  // parks in "sleep"
  asm volatile("");
}

}  // namespace

extern "C" [[gnu::noinline]] void gdb_breakpoint_here() { asm volatile(""); }

static void gdbMain() {
  auto ch = gort::make_chan<int>();
  for (int i = 0; i < 10; i++) gort::go(blockedReceiver, ch);
  for (int i = 0; i < 3; i++) gort::go(longSleeper);
  while (parking.load() < 13) gort::time::Sleep(gort::time::Millisecond);
  gort::time::Sleep(200 * gort::time::Millisecond);  // let the last ones park
  gdb_breakpoint_here();
  // `gdb_target wait`: stay for a signal (SIGQUIT with GOTRACEBACK=crash
  // dumps core).
  if (waitAtEnd) {
    std::printf("ready\n");
    std::fflush(stdout);
    gort::time::Sleep(gort::time::Hour);
  }
}

int main(int argc, char** argv) {
  waitAtEnd = argc > 1;
  gort::Main(argc, argv, gdbMain);
}
