// watchdog.hpp: a deadline for a test child that might hang. alarm(2) is
// no guard in a gort program, which catches and ignores SIGALRM as Go does;
// a plain thread that ends the process when time runs out is.
#pragma once

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <thread>

namespace gorttest {

// Ends the process with status 124 (timeout(1)'s) unless it exits first.
inline void watchdog(int seconds) {
  std::thread([seconds] {
    std::this_thread::sleep_for(std::chrono::seconds(seconds));
    std::fprintf(stderr, "watchdog: still running after %d s\n", seconds);
    _exit(124);
  }).detach();
}

}  // namespace gorttest
