// hello: the README's example. Workers square jobs from one channel and send
// the results on another; main collects them.
#include <cstdio>

#include "gort/chan.hpp"
#include "gort/go.hpp"
#include "gort/runtime.hpp"

void worker(gort::recv_only<int> jobs, gort::send_only<int> results) {
  for (int j : jobs) results.send(j * j);  // until jobs is closed and drained
}

void hello() {
  auto jobs = gort::make_chan<int>(100);
  auto results = gort::make_chan<int>(100);
  for (int w = 0; w < 4; w++) gort::go(worker, jobs, results);
  for (int j = 1; j <= 100; j++) jobs.send(j);
  gort::close(jobs);
  int sum = 0;
  for (int j = 1; j <= 100; j++) sum += results.recv();
  std::printf("sum of squares 1..100 = %d, on %d Ps\n", sum, gort::runtime::GOMAXPROCS(0));
}

int main(int argc, char** argv) { gort::Main(argc, argv, hello); }
