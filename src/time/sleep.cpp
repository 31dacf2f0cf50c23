// sleep.cpp: package time's Sleep, Timer and AfterFunc (mirrors
// time/sleep.go over runtime/time.go).
//
// A Timer handle points at a reference-counted timerState holding the
// runtime timer. Handles hold references, and so does the runtime while the
// timer is armed (runtime::timer's ref/unref hooks), so an armed timer
// outlives its handles, as a Go timer referenced only by the runtime does.
#include <time.h>

#include <atomic>
#include <stdexcept>
#include <utility>

#include "gort/go.hpp"
#include "gort/syscall.hpp"
#include "gort/time.hpp"
#include "runtime/os_linux.hpp"
#include "runtime/sanitizer.hpp"
#include "time/time_internal.hpp"

namespace gort::time {

namespace internal {

void timerRef(void* arg) { static_cast<timerState*>(arg)->refs.fetch_add(1, std::memory_order_relaxed); }

void timerUnref(void* arg) {
  auto* st = static_cast<timerState*>(arg);
  // The library is not TSan-instrumented: say that every holder's use
  // happens before the delete, as the atomic count makes it so.
  gort::internal::san::release(st);
  if (st->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) {
    gort::internal::san::acquire(st);
    delete st;
  }
}

timerState* newTimerState() {
  auto* st = new timerState();
  st->t.ref = timerRef;
  st->t.unref = timerUnref;
  return st;
}

namespace {
// Empties the channel of values sent for an earlier arming (Go 1.23).
void drainChan(void* arg) {
  auto* st = static_cast<timerState*>(arg);
  while (st->c.try_recv()) {
  }
}
}  // namespace

timerState* newChanTimerState() {
  timerState* st = newTimerState();
  st->c = make_chan<Time>(1);
  st->t.isSync = true;
  st->t.drain = drainChan;
  return st;
}

// Runs on a g0: a non-blocking send, so a slow receiver drops the value
// (tickers skip ticks).
void sendTime(void* arg, uintptr_t, int64_t) {
  auto* st = static_cast<timerState*>(arg);
  st->c.try_send(Now());
}

int64_t when(Duration d) {
  int64_t now = gort::internal::nanotime();
  int64_t w = now + d.Nanoseconds();
  if (d.Nanoseconds() > 0 && w < now) w = INT64_MAX;  // overflow
  return w;
}

namespace {
// AfterFunc: start f in its own goroutine, which holds a reference.
void goFunc(void* arg, uintptr_t, int64_t) {
  auto* st = static_cast<timerState*>(arg);
  timerRef(st);
  gort::go([st] {
    struct Release {
      timerState* st;
      ~Release() { timerUnref(st); }
    } release{st};
    st->fn();
  });
}
}  // namespace

}  // namespace internal

void Sleep(Duration d) {
  if (d.Nanoseconds() <= 0) return;
  if (!gort::internal::onGoroutine()) {
    struct timespec ts{time_t(d.Nanoseconds() / 1000000000), long(d.Nanoseconds() % 1000000000)};
    while (nanosleep(&ts, &ts) != 0) {
    }
    return;
  }
  gort::internal::timeSleep(d.Nanoseconds());
}

Timer::Timer(internal::timerState* st) : C(st->c), st_(st) {}
Timer::Timer(const Timer& o) : C(o.C), st_(o.st_) {
  if (st_) internal::timerRef(st_);
}
Timer::Timer(Timer&& o) noexcept : C(std::move(o.C)), st_(std::exchange(o.st_, nullptr)) {}
Timer& Timer::operator=(Timer o) noexcept {
  std::swap(C, o.C);
  std::swap(st_, o.st_);
  return *this;
}
Timer::~Timer() {
  if (st_) internal::timerUnref(st_);
}

bool Timer::Stop() {
  if (!st_) throw std::logic_error("time: Stop called on uninitialized Timer");
  return gort::internal::timerStop(&st_->t);
}

bool Timer::Reset(Duration d) {
  if (!st_) throw std::logic_error("time: Reset called on uninitialized Timer");
  return gort::internal::timerModify(&st_->t, internal::when(d), 0, st_->t.f, st_, 0);
}

Timer AfterFunc(Duration d, std::function<void()> f) {
  internal::timerState* st = internal::newTimerState();
  st->fn = std::move(f);
  st->t.f = internal::goFunc;
  gort::internal::timerModify(&st->t, internal::when(d), 0, internal::goFunc, st, 0);
  return Timer(st);
}

Timer NewTimer(Duration d) {
  internal::timerState* st = internal::newChanTimerState();
  st->t.f = internal::sendTime;
  gort::internal::timerModify(&st->t, internal::when(d), 0, internal::sendTime, st, 0);
  return Timer(st);
}

recv_only<Time> After(Duration d) { return NewTimer(d).C; }

}  // namespace gort::time
