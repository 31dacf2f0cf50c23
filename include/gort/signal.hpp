// signal.hpp: package os/signal, and os.Signal / syscall.Signal.
//
//   auto c = gort::make_chan<gort::os::Signal>(1);
//   gort::signal::Notify(c, {SIGINT, SIGTERM});   // <signal.h> numbers
//   gort::os::Signal s = c.recv();
//
// As in Go, delivery never blocks: a signal that finds the channel full is
// dropped for that channel, so give the channel room (capacity 1 suffices
// for one kind of signal). Notify with no signals relays every signal.
#pragma once

#include <compare>
#include <initializer_list>
#include <string>

#include "gort/chan.hpp"

namespace gort {

namespace syscall {
// A signal number with Go's names ("interrupt", "terminated", ...). It
// converts from the <signal.h> constants (SIGINT, ...), which C++ already
// has as macros under Go's names.
struct Signal {
  int num = 0;
  constexpr Signal() = default;
  constexpr Signal(int n) : num(n) {}  // NOLINT: implicit, like Go's untyped constants
  std::string String() const;
  friend constexpr auto operator<=>(Signal, Signal) = default;
};
}  // namespace syscall

namespace os {
using Signal = syscall::Signal;
inline constexpr Signal Interrupt{2};  // SIGINT
inline constexpr Signal Kill{9};       // SIGKILL
}  // namespace os

namespace signal {

// Relay the listed signals (all, if none) to c, in addition to any channels
// already registered for them.
void Notify(chan<os::Signal> c, std::initializer_list<os::Signal> sigs = {});
// Stop relaying to c. When Stop returns, c receives no more signals.
void Stop(const chan<os::Signal>& c);
// Ignore the signals (all, if none); registrations for them are dropped.
void Ignore(std::initializer_list<os::Signal> sigs = {});
// Whether sig is currently ignored.
bool Ignored(os::Signal sig);
// Undo Notify and Ignore for the signals (all, if none): default behaviour.
void Reset(std::initializer_list<os::Signal> sigs = {});

}  // namespace signal
}  // namespace gort
