// syscall.hpp: package syscall's boundary for blocking calls.
#pragma once

#include <type_traits>
#include <utility>

#include "gort/errors.hpp"

namespace gort::internal {
// proc.cpp. The calling goroutine keeps its M across the call; its P stays
// attached in syscall state, and sysmon hands it to another M if the call
// takes longer than a sysmon tick (20 us or more).
void entersyscall();
void exitsyscall();
bool onGoroutine();
}  // namespace gort::internal

namespace gort::syscall {

// Errno is a system call's error number as an error value (Go's
// syscall.Errno): Error() is Go's message ("connection refused"), and two
// Errno errors are equal when their numbers are.
struct ErrnoError final : error::Interface {
  explicit ErrnoError(int e) : errnum(e) {}
  std::string Error() const override;
  bool Timeout() const override;
  bool Temporary() const override;
  bool Equals(const error::Interface& o) const override;
  int errnum;
};
error Errno(int e);
// The number behind err if it is (or wraps) an Errno, else 0.
int ErrnoOf(const error& err);

// Blocking runs fn(), which may block its OS thread (a system call, a C
// library that waits), without stalling other goroutines: while fn runs
// the goroutine's P can be handed to another thread, as Go does around
// every system call. fn must not use the runtime (no goroutines, channels,
// sync primitives or timers): it runs outside the scheduler. Read errno
// inside fn: afterwards the goroutine may run on another thread. Off a
// goroutine, fn just runs. An unwrapped blocking call does not stall the
// others for long either (sysmon hands its P off once it sees the thread
// asleep in the kernel), but Blocking hands it off at once and cheaply.
template <class F>
decltype(auto) Blocking(F&& fn) {
  if (!internal::onGoroutine()) return std::forward<F>(fn)();
  struct Exit {
    ~Exit() { internal::exitsyscall(); }
  };
  internal::entersyscall();
  Exit exit;
  return std::forward<F>(fn)();
}

}  // namespace gort::syscall
