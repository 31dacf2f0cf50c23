// check.hpp: the checked-build switch and the runtime's precondition asserts.
//
// Debug builds (no NDEBUG) and sanitizer builds are checked builds: they
// verify what the runtime's comments state as preconditions ("runs on g0",
// "sched.lock held", "world stopped"), every runtime lock's
// rank (lockrank.hpp), and G status transitions. Release builds compile the
// checks out. One vocabulary, one switch: a function that states a
// precondition asserts it with these, not with its own test.
#pragma once

namespace gort::internal {

#if defined(NDEBUG) && !defined(GORT_ASAN) && !defined(GORT_TSAN)
inline constexpr bool kChecked = false;
#else
inline constexpr bool kChecked = true;
#endif

struct mutex;

// The out-of-line halves (check.cpp): each throws, naming the broken
// precondition, unless it holds.
void checkOnG0(const char* who);
void checkLockHeld(const mutex* l, const char* who);
void checkWorldStopped(const char* who);

// who: the function stating the precondition, for the fatal error's text.
inline void assertOnG0(const char* who) {
  if constexpr (kChecked) checkOnG0(who);
}
inline void assertLockHeld(const mutex* l, const char* who) {
  if constexpr (kChecked) checkLockHeld(l, who);
}
inline void assertWorldStopped(const char* who) {
  if constexpr (kChecked) checkWorldStopped(who);
}

}  // namespace gort::internal
