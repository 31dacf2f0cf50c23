// time.hpp: package time (durations, the monotonic clock, sleeping, timers).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include "gort/chan.hpp"

namespace gort::time {

// Duration is Go's time.Duration: a signed count of nanoseconds.
class Duration {
 public:
  constexpr Duration() = default;
  constexpr explicit Duration(int64_t ns) : ns_(ns) {}
  template <class Rep, class Period>
  constexpr Duration(std::chrono::duration<Rep, Period> d)  // NOLINT: chrono converts implicitly
      : ns_(std::chrono::duration_cast<std::chrono::nanoseconds>(d).count()) {}

  constexpr int64_t Nanoseconds() const { return ns_; }
  constexpr int64_t Microseconds() const { return ns_ / 1000; }
  constexpr int64_t Milliseconds() const { return ns_ / 1000000; }
  double Seconds() const;
  double Minutes() const;
  double Hours() const;
  // Go's format: "1h2m3.5s", "1.5µs", "0s".
  std::string String() const;
  Duration Truncate(Duration m) const;
  Duration Round(Duration m) const;
  Duration Abs() const;

  constexpr Duration operator-() const { return Duration(-ns_); }
  constexpr Duration operator+(Duration o) const { return Duration(ns_ + o.ns_); }
  constexpr Duration operator-(Duration o) const { return Duration(ns_ - o.ns_); }
  constexpr Duration operator*(int64_t k) const { return Duration(ns_ * k); }
  friend constexpr Duration operator*(int64_t k, Duration d) { return Duration(k * d.ns_); }
  constexpr Duration operator/(int64_t k) const { return Duration(ns_ / k); }
  constexpr int64_t operator/(Duration o) const { return ns_ / o.ns_; }
  constexpr Duration operator%(Duration o) const { return Duration(ns_ % o.ns_); }
  Duration& operator+=(Duration o) { ns_ += o.ns_; return *this; }
  Duration& operator-=(Duration o) { ns_ -= o.ns_; return *this; }
  constexpr auto operator<=>(const Duration&) const = default;

 private:
  int64_t ns_ = 0;
};

inline constexpr Duration Nanosecond{1};
inline constexpr Duration Microsecond{1000};
inline constexpr Duration Millisecond{1000000};
inline constexpr Duration Second{1000000000};
inline constexpr Duration Minute{60 * Second.Nanoseconds()};
inline constexpr Duration Hour{60 * Minute.Nanoseconds()};

// Time is an instant with nanosecond precision. Times from Now carry a
// monotonic clock reading, and Sub/Since/Until/Before/After use it when both
// operands have one, so wall-clock jumps do not affect measured intervals.
class Time {
 public:
  Time() = default;  // the zero Time
  bool IsZero() const { return wall_ == 0 && mono_ == 0; }
  int64_t UnixNano() const { return wall_; }
  int64_t UnixMicro() const { return wall_ / 1000; }
  int64_t UnixMilli() const { return wall_ / 1000000; }
  int64_t Unix() const;
  Duration Sub(Time u) const;
  Time Add(Duration d) const;
  bool Before(Time u) const { return Sub(u).Nanoseconds() < 0; }
  bool After(Time u) const { return Sub(u).Nanoseconds() > 0; }
  bool Equal(Time u) const { return Sub(u).Nanoseconds() == 0; }
  // Strips the monotonic reading (Go's t.Round(0)).
  Time StripMono() const;
  bool HasMono() const { return hasMono_; }
  // Go's layout "2006-01-02 15:04:05.999999999 +0000 UTC", plus
  // " m=+1.234567890" with a monotonic reading relative to process start.
  std::string String() const;

  static Time FromUnixNano(int64_t ns);
  // Internal: a time from both clocks (Now) or from the monotonic clock
  // alone relative to Now (deadlines).
  static Time FromClocks(int64_t wall, int64_t mono);
  int64_t MonoNanos() const { return mono_; }  // nanotime() reading; valid if HasMono()

 private:
  int64_t wall_ = 0;  // Unix nanoseconds
  int64_t mono_ = 0;  // runtime nanotime()
  bool hasMono_ = false;
};

Time Now();
Time Unix(int64_t sec, int64_t nsec);
Duration Since(Time t);
Duration Until(Time t);

// Sleep pauses the calling goroutine for at least d (d <= 0: returns at
// once). Off a goroutine it sleeps the calling thread.
void Sleep(Duration d);

namespace internal {
struct timerState;
}

// Timer is a handle to a single event (Go's *Timer; copies share it). An
// armed timer stays alive while armed, whether or not handles remain.
// Channel timers follow Go 1.23: once Stop or Reset returns, no value sent
// for the earlier arming can be received from C.
class Timer {
 public:
  recv_only<Time> C;  // NewTimer: receives the time when the timer fires

  Timer() = default;
  Timer(const Timer& o);
  Timer(Timer&& o) noexcept;
  Timer& operator=(Timer o) noexcept;
  ~Timer();
  explicit operator bool() const { return st_ != nullptr; }

  // Stop prevents the timer from firing; it returns true if the call
  // stopped it, false if it had already expired or been stopped. For a
  // func timer (AfterFunc) Stop does not wait for a started f to finish.
  bool Stop();
  // Reset changes the timer to expire after d, returning whether it had
  // been active.
  bool Reset(Duration d);

  explicit Timer(internal::timerState* st);  // adopts a reference

 private:
  internal::timerState* st_ = nullptr;
};

// AfterFunc waits for d, then calls f in its own goroutine.
Timer AfterFunc(Duration d, std::function<void()> f);
// NewTimer sends the current time on its C after at least d.
Timer NewTimer(Duration d);
// After(d) is NewTimer(d).C.
recv_only<Time> After(Duration d);

// Ticker delivers the time on C every period (Go's *Ticker). A slow
// receiver misses ticks rather than queueing them. Stop it when done: an
// unstopped ticker runs for the life of the program, as before Go 1.23.
class Ticker {
 public:
  recv_only<Time> C;
  Ticker() = default;
  Ticker(const Ticker& o);
  Ticker(Ticker&& o) noexcept;
  Ticker& operator=(Ticker o) noexcept;
  ~Ticker();
  void Stop();
  // Reset stops the ticker and restarts it with period d (> 0).
  void Reset(Duration d);

  explicit Ticker(internal::timerState* st);  // adopts a reference

 private:
  internal::timerState* st_ = nullptr;
};

// NewTicker panics (throws std::invalid_argument) if d <= 0, with Go's
// message "non-positive interval for NewTicker".
Ticker NewTicker(Duration d);
// Tick is NewTicker(d).C, or the nil channel if d <= 0.
recv_only<Time> Tick(Duration d);

}  // namespace gort::time
