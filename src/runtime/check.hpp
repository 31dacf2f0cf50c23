// check.hpp: the checked-build switch and the runtime's precondition asserts.
//
// Debug builds (no NDEBUG) and sanitizer builds are checked builds: they
// verify what the runtime's comments state as preconditions ("runs on g0",
// "sched.lock held", "world stopped", "owns the P"), every runtime lock's
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

struct m;
struct mutex;
struct p;

// The out-of-line halves (check.cpp): each throws, naming the broken
// precondition, unless it holds.
void checkOnG0(const char* who);
void checkLockHeld(const mutex* l, const char* who);
void checkWorldStopped(const char* who);
void checkOwnsP(const p* pp, const char* who);
void checkCanAllocate(const m* mp);
void noAllocEnter(m* mp);
void noAllocLeave(m* mp);

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
// No other M holds pp: the calling M does, or nobody does (procresize with
// the world stopped, or a test seam's P that was never in allp).
inline void assertOwnsP(const p* pp, const char* who) {
  if constexpr (kChecked) checkOwnsP(pp, who);
}

// No allocation: mallocgc asserts that its M is not already inside mallocgc
// (a destructor or hook that allocates mid-refill would corrupt the mcache)
// nor inside a region that must not allocate, and is such a region itself.
// A violation is Go's fatal "malloc deadlock". mp may be null (a thread
// outside the scheduler), which is never inside either.
inline void assertCanAllocate(const m* mp) {
  if constexpr (kChecked) checkCanAllocate(mp);
}
class NoAllocRegion {
 public:
  explicit NoAllocRegion(m* mp) : mp_(mp) {
    if constexpr (kChecked) noAllocEnter(mp_);
  }
  ~NoAllocRegion() {
    if constexpr (kChecked) noAllocLeave(mp_);
  }
  NoAllocRegion(const NoAllocRegion&) = delete;
  NoAllocRegion& operator=(const NoAllocRegion&) = delete;

 private:
  m* mp_;
};

}  // namespace gort::internal
