// lock_futex.hpp: runtime locks and notes on Linux futexes (lock_futex.go).
//
// A runtime mutex blocks the whole M, not just the G, so it guards only short
// critical sections inside the runtime; user-visible blocking (sync.Mutex,
// channels) parks goroutines instead. A note is a one-shot event an M sleeps
// on (an idle M's park, stop-the-world's stopnote).
#pragma once

#include <atomic>
#include <cstdint>

namespace gort::internal {

struct mutex {
  // 0 unlocked, 1 locked, 2 locked with possible sleepers.
  std::atomic<uint32_t> key{0};
};

void lock(mutex* l);
void unlock(mutex* l);
// Takes l only if it is free; never blocks (the timer runner uses it to
// take locks against their order without deadlock).
bool trylock(mutex* l);

// lock/unlock inside a RuntimeEntry (stubs.hpp): lockGuard's, so that the
// library code that guards its own state with a runtime mutex (context,
// signal) holds no lock at the entry that may find its P handed off.
void lockEntered(mutex* l);
void unlockEntered(mutex* l);

// RAII guard for the common case; runtime code still says lock/unlock where
// the critical section is not a scope.
class lockGuard {
 public:
  explicit lockGuard(mutex* l) : l_(l) { lockEntered(l_); }
  ~lockGuard() { unlockEntered(l_); }
  lockGuard(const lockGuard&) = delete;
  lockGuard& operator=(const lockGuard&) = delete;

 private:
  mutex* l_;
};

struct note;
void noteclear(note* n);
void notewakeup(note* n);
void notesleep(note* n);
// Sleeps at most ns nanoseconds (ns < 0: forever); true if woken.
bool notetsleep(note* n, int64_t ns);

// futex wrappers (os_linux.cpp).
void futexsleep(std::atomic<uint32_t>* addr, uint32_t val, int64_t ns);
void futexwakeup(std::atomic<uint32_t>* addr, uint32_t cnt);

}  // namespace gort::internal
