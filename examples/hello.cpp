// hello: the README's example. Four workers square the jobs they receive on
// one channel and send the results on another; a WaitGroup tells when they
// are all done, so the results channel can be closed and ranged over.
#include <cstdio>

#include "gort/chan.hpp"
#include "gort/go.hpp"
#include "gort/runtime.hpp"
#include "gort/sync.hpp"

void worker(gort::recv_only<int> jobs, gort::send_only<int> results, gort::sync::WaitGroup* wg) {
  for (int j : jobs) results.send(j * j);  // until jobs is closed and drained
  wg->Done();
}

void hello() {
  auto jobs = gort::make_chan<int>(10);
  auto results = gort::make_chan<int>(10);
  gort::sync::WaitGroup wg;
  for (int w = 0; w < 4; w++) {
    wg.Add(1);
    gort::go(worker, jobs, results, &wg);
  }
  gort::go([&wg, results] {
    wg.Wait();
    gort::close(results);
  });
  gort::go([jobs] {
    for (int j = 1; j <= 100; j++) jobs.send(j);
    gort::close(jobs);
  });
  int sum = 0;
  for (int r : results) sum += r;
  std::printf("sum of squares 1..100 = %d (GOMAXPROCS=%d)\n", sum, gort::runtime::GOMAXPROCS(0));
}

int main(int argc, char** argv) { gort::Main(argc, argv, hello); }
