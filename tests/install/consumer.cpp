// consumer: the smallest real gort program, built by scripts/test.sh against
// an installed gort (find_package) and against the source tree
// (add_subdirectory). It includes every public header through gort/gort.hpp,
// so a header that needs something not installed fails here. 100 goroutines
// send their numbers over a channel, a WaitGroup says when they are done;
// then a deferred recover() takes the panic of a misused WaitGroup (under
// link-time optimisation the library's code inlines into this file's), and
// the program's own frame is symbolised and demangled (the symboliser and
// the demangler, which come from GCC's archives, are linked in). The exit
// status tells whether all of it came out right.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string>

#include "gort/gort.hpp"

namespace {

void consumerMain() {
  constexpr int kGoroutines = 100;
  auto nums = gort::make_chan<int>(kGoroutines);
  gort::sync::WaitGroup wg;
  for (int i = 1; i <= kGoroutines; i++) {
    wg.Add(1);
    gort::go([&wg](gort::send_only<int> out, int k) {
      out.send(k);
      wg.Done();
    }, nums, i);
  }
  wg.Wait();
  gort::close(nums);
  int sum = 0;
  for (int v : nums) sum += v;
  const int want = kGoroutines * (kGoroutines + 1) / 2;
  std::printf("consumer: %d goroutines summed to %d (%s), runtime %s\n", kGoroutines, sum,
              sum == want ? "ok" : "WRONG", gort::runtime::Version().c_str());
  if (sum != want) std::exit(1);

  std::string recovered;
  gort::func([&](gort::Defer& defer) {
    defer([&] {
      if (auto r = gort::recover()) recovered = r.String();
    });
    wg.Done();  // the counter is zero: panics
  });
  std::printf("consumer: recovered \"%s\"\n", recovered.c_str());
  if (recovered != "sync: negative WaitGroup counter") std::exit(1);

  uintptr_t pc[1];
  int n = gort::runtime::Callers(1, pc);
  auto [frame, more] = gort::runtime::CallersFrames(std::span<const uintptr_t>(pc, size_t(n))).Next();
  std::printf("consumer: running in %s\n", frame.Function.c_str());
  if (frame.Function.find("consumerMain()") == std::string::npos) std::exit(1);
}

}  // namespace

int main(int argc, char** argv) { gort::Main(argc, argv, consumerMain); }
