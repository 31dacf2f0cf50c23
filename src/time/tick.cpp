// tick.cpp: package time's Ticker and Tick (mirrors time/tick.go): a
// periodic channel timer; the runtime re-arms it each period, skipping
// periods a late run missed.
#include <stdexcept>
#include <utility>

#include "gort/time.hpp"
#include "runtime/time.hpp"
#include "time/time_internal.hpp"

namespace gort::time {

namespace {
void start(internal::timerState* st, Duration d) {
  if (d.Nanoseconds() <= 0) throw std::invalid_argument("non-positive interval for NewTicker");
  gort::internal::timerModify(&st->t, internal::when(d), d.Nanoseconds(), internal::sendTime, st, 0);
}
}  // namespace

Ticker::Ticker(internal::timerState* st) : C(st->c), st_(st) {}
Ticker::Ticker(const Ticker& o) : C(o.C), st_(o.st_) {
  if (st_) internal::timerRef(st_);
}
Ticker::Ticker(Ticker&& o) noexcept : C(std::move(o.C)), st_(std::exchange(o.st_, nullptr)) {}
Ticker& Ticker::operator=(Ticker o) noexcept {
  std::swap(C, o.C);
  std::swap(st_, o.st_);
  return *this;
}
Ticker::~Ticker() {
  if (st_) internal::timerUnref(st_);
}

void Ticker::Stop() {
  if (st_) gort::internal::timerStop(&st_->t);
}

void Ticker::Reset(Duration d) {
  if (!st_) throw std::logic_error("time: Reset called on uninitialized Ticker");
  start(st_, d);
}

Ticker NewTicker(Duration d) {
  if (d.Nanoseconds() <= 0) throw std::invalid_argument("non-positive interval for NewTicker");
  internal::timerState* st = internal::newChanTimerState();
  Ticker t(st);
  start(st, d);
  return t;
}

recv_only<Time> Tick(Duration d) {
  if (d.Nanoseconds() <= 0) return nullptr;
  return NewTicker(d).C;
}

}  // namespace gort::time
