// signal.hpp: package os/signal, and os.Signal / syscall.Signal.
//
//   auto c = gort::make_chan<gort::os::Signal>(1);
//   gort::signal::Notify(c, {SIGINT, SIGTERM});   // <signal.h> numbers
//   gort::os::Signal s = c.recv();
//
// As in Go, delivery never blocks: a signal that finds the channel full is
// dropped for that channel, so give the channel room (capacity 1 suffices
// for one kind of signal). Notify with no signals relays every signal.
//
// Without Notify (and after Stop) a signal does what it does in Go:
// SIGHUP, SIGINT and SIGTERM end the program by the signal (a SIGHUP or
// SIGINT inherited as ignored stays ignored); SIGUSR1, SIGUSR2, SIGALRM,
// SIGVTALRM, SIGPROF, SIGXCPU, SIGXFSZ, SIGIO, SIGPWR, SIGURG, SIGWINCH,
// SIGCHLD and the real-time signals from 35 are ignored; SIGQUIT, SIGILL,
// SIGTRAP, SIGABRT, SIGSTKFLT and SIGSYS print every goroutine and exit 2.
// Once any signal has been notified a program blocked waiting is never
// reported as deadlocked: a signal may still come.
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
// Only a later Notify undoes it.
void Ignore(std::initializer_list<os::Signal> sigs = {});
// Whether sig is currently ignored: by Ignore, or (SIGHUP, SIGINT) inherited
// as ignored and not notified since.
bool Ignored(os::Signal sig);
// Undo Notify for the signals (all, if none); Ignore stays in force, as in
// Go.
void Reset(std::initializer_list<os::Signal> sigs = {});

}  // namespace signal
}  // namespace gort
