// time_internal.hpp: the state behind package time's handles (Timer,
// Ticker), shared by sleep.cpp and tick.cpp.
#pragma once

#include <atomic>
#include <climits>
#include <functional>

#include "gort/time.hpp"
#include "runtime/time.hpp"

namespace gort::time::internal {

struct timerState {
  std::atomic<int32_t> refs{1};   // handles plus the runtime's armed reference
  gort::internal::timer t;
  std::function<void()> fn;       // AfterFunc
  chan<Time> c;                   // NewTimer, NewTicker (capacity 1)
};

timerState* newTimerState();    // one reference, for the first handle
timerState* newChanTimerState();  // the same, with a channel of capacity 1 (a sync timer)
void sendTime(void* st, uintptr_t seq, int64_t delay);
void timerRef(void* st);
void timerUnref(void* st);
int64_t when(Duration d);       // nanotime() + d, saturating

}  // namespace gort::time::internal
