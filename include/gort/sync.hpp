// sync.hpp: package sync — Mutex, RWMutex, Once, WaitGroup, Cond, Locker.
//
// The algorithms are Go's (sync/mutex.go, rwmutex.go, once.go,
// waitgroup.go, cond.go) over the runtime's semaphore table
// (src/runtime/sema.cpp): a contended goroutine parks, its thread runs
// other goroutines. The uncontended paths are inline here (one atomic
// instruction each for Mutex::Lock and Unlock); the contended ones live in
// src/sync/.
//
// As in Go, a zero-initialised value is ready to use and must not be copied
// after first use; here copying does not compile. Misuse ends the program
// as Go's does: unlocking an unlocked Mutex or RWMutex is a fatal error
// ("fatal error: sync: unlock of unlocked mutex", exit status 2, not
// recoverable); a negative WaitGroup counter panics (recoverable).
//
// An operation that has to wait (a contended Lock, Wait) parks the
// goroutine; called from a thread that is not running one, it waits on a
// borrowed goroutine while the thread sleeps, as channel operations do.
//
// Mutex satisfies C++'s Lockable (lock/unlock/try_lock), so std::lock_guard,
// std::unique_lock and std::scoped_lock work on it; RWMutex additionally
// satisfies SharedLockable for std::shared_lock.
//
// Memory model (go.dev/ref/mem): the n-th Unlock happens before the m-th
// Lock returns for n < m; for RWMutex, each RUnlock happens before the
// next Lock returns and each Unlock before the following RLocks return;
// the return of f in Once.Do(f) happens before any Do returns; Done happens
// before the Wait it unblocks returns; Signal/Broadcast happen before the
// Wait they unblock returns. Each edge is annotated for TSan.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <type_traits>
#include <utility>

#include "gort/internal/frame.hpp"
#include "gort/internal/sync.hpp"

namespace gort::sync {

// Locker is Go's sync.Locker interface value: anything with Lock() and
// Unlock(), held by pointer. Converts implicitly from a pointer to such a
// type (Mutex*, RWMutex*, or a user type).
class Locker {
 public:
  template <class L>
    requires requires(L& l) {
      l.Lock();
      l.Unlock();
    }
  Locker(L* l) noexcept  // NOLINT(google-explicit-constructor): Go's implicit interface conversion
      : obj_(l), lock_([](void* p) { static_cast<L*>(p)->Lock(); }),
        unlock_([](void* p) { static_cast<L*>(p)->Unlock(); }) {}
  // An interface value built from explicit methods (RWMutex::RLocker).
  Locker(void* obj, void (*lock)(void*), void (*unlock)(void*)) noexcept
      : obj_(obj), lock_(lock), unlock_(unlock) {}

  void Lock() const { lock_(obj_); }
  void Unlock() const { unlock_(obj_); }

 private:
  void* obj_;
  void (*lock_)(void*);
  void (*unlock_)(void*);
};

// Mutex is a mutual exclusion lock (sync.Mutex). It is not tied to a
// goroutine: one may Lock it and another Unlock it.
//
// Fairness (Go's design): in normal mode waiters queue FIFO, but a woken
// waiter competes with newly arriving goroutines, which usually win (they
// are already running); a waiter that loses is requeued at the front. A
// waiter that has waited over 1 ms switches the mutex to starvation mode,
// where Unlock hands ownership straight to the front waiter and newcomers
// queue at the back without spinning. The mutex returns to normal mode when
// the waiter it is handed to is the last or waited under 1 ms. Normal mode
// is much faster (a goroutine can take the lock repeatedly); starvation
// mode bounds the wait of the unlucky.
class Mutex {
 public:
  constexpr Mutex() noexcept = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  // Lock blocks (parks the goroutine) until the mutex is available.
  void Lock() {
    int32_t unlocked = 0;
    if (!state_.compare_exchange_strong(unlocked, kLocked, std::memory_order_acquire,
                                        std::memory_order_relaxed)) {
      lockSlow();
    }
    internal::race::acquire(this);
  }
  // TryLock takes the mutex if that needs no waiting. Rarely the right tool
  // (as Go's documentation warns), but sometimes needed.
  bool TryLock() {
    int32_t old = state_.load(std::memory_order_relaxed);
    if (old & (kLocked | kStarving)) return false;
    if (!state_.compare_exchange_strong(old, old | kLocked, std::memory_order_acquire,
                                        std::memory_order_relaxed)) {
      return false;
    }
    internal::race::acquire(this);
    return true;
  }
  // Unlock releases the mutex; unlocking an unlocked mutex is fatal.
  void Unlock() {
    internal::race::release(this);
    int32_t now = state_.fetch_sub(kLocked, std::memory_order_release) - kLocked;
    if (now != 0) unlockSlow(now);
    internal::noTailCall();
  }

  // C++ Lockable.
  void lock() { Lock(); }
  bool try_lock() { return TryLock(); }
  void unlock() { Unlock(); }

 private:
  friend class RWMutex;
  // state_ bits: locked, a waiter was woken (Unlock need not wake another),
  // starvation mode; the rest counts the waiters.
  static constexpr int32_t kLocked = 1, kWoken = 2, kStarving = 4;
  static constexpr int kWaiterShift = 3;

  void lockSlow();
  void unlockSlow(int32_t now);

  std::atomic<int32_t> state_{0};
  std::atomic<uint32_t> sema_{0};
};

// RWMutex is a reader/writer mutual exclusion lock (sync.RWMutex): any
// number of readers or one writer. A blocked Lock excludes new readers (it
// waits only for the readers already in), so a writer is not starved, and a
// reader must not recursively RLock. Not tied to a goroutine.
class RWMutex {
 public:
  constexpr RWMutex() noexcept = default;
  RWMutex(const RWMutex&) = delete;
  RWMutex& operator=(const RWMutex&) = delete;

  void RLock();
  bool TryRLock();
  void RUnlock();  // fatal if not read-locked
  void Lock();
  bool TryLock();
  void Unlock();  // fatal if not write-locked
  // RLocker returns a Locker whose Lock/Unlock call RLock/RUnlock.
  Locker RLocker() noexcept;

  // C++ Lockable and SharedLockable.
  void lock() { Lock(); }
  bool try_lock() { return TryLock(); }
  void unlock() { Unlock(); }
  void lock_shared() { RLock(); }
  bool try_lock_shared() { return TryRLock(); }
  void unlock_shared() { RUnlock(); }

 private:
  static constexpr int32_t kMaxReaders = 1 << 30;
  void rUnlockSlow(int32_t r);

  Mutex w_;                               // held by a writer, pending or in
  std::atomic<uint32_t> writerSem_{0};    // the writer waits here for readers to leave
  std::atomic<uint32_t> readerSem_{0};    // readers wait here for the writer to leave
  std::atomic<int32_t> readerCount_{0};   // readers in; minus kMaxReaders while a writer is pending
  std::atomic<int32_t> readerWait_{0};    // readers the pending writer still waits for
};

// Once runs an action exactly once (sync.Once).
class Once {
 public:
  constexpr Once() noexcept = default;
  Once(const Once&) = delete;
  Once& operator=(const Once&) = delete;

  // Do calls f() if and only if Do is being called for the first time on
  // this Once. Every Do returns only after f has returned. If f throws
  // (panics), Once considers it done: later calls do not run f, as in Go
  // (unlike std::call_once). Calling Do from f deadlocks.
  template <class F>
  void Do(F&& f) {
    // Fast path: a plain load. Checking done with a CAS instead would let a
    // Do return before the winner's f finished.
    if (done_.load(std::memory_order_acquire) == 0) {
      auto run = [&f] { f(); };
      doSlow([](void* p) { (*static_cast<decltype(run)*>(p))(); }, &run);
    }
    internal::race::acquire(&done_);
  }

 private:
  void doSlow(void (*call)(void*), void* f);

  std::atomic<uint32_t> done_{0};  // first: the hot path reads it
  Mutex m_;
};

// WaitGroup waits for a collection of goroutines to finish
// (sync.WaitGroup): Add(n) before starting them, Done() in each, Wait() to
// block until the counter is zero.
class WaitGroup {
 public:
  constexpr WaitGroup() noexcept = default;
  WaitGroup(const WaitGroup&) = delete;
  WaitGroup& operator=(const WaitGroup&) = delete;

  // Add adds delta (may be negative) to the counter; zero releases the
  // waiters. A negative counter panics ("sync: negative WaitGroup
  // counter"). Adds that start from zero must happen before Wait.
  void Add(int delta);
  void Done() {
    Add(-1);
    internal::noTailCall();
  }
  void Wait();

 private:
  // High 32 bits: the counter; low 32 bits: waiters.
  std::atomic<uint64_t> state_{0};
  std::atomic<uint32_t> sema_{0};
};

// Cond is a condition variable (sync.Cond): a rendezvous for goroutines
// waiting for, or announcing, an event. L is held while the condition is
// checked or changed.
class Cond {
 public:
  explicit Cond(Locker l) noexcept : L(l) {}
  Cond(const Cond&) = delete;
  Cond& operator=(const Cond&) = delete;

  // Wait unlocks L, parks until Signal or Broadcast wakes it, and locks L
  // again before returning. Wakeups may be spurious with respect to the
  // caller's condition, so wait in a loop: while (!cond) c.Wait();
  void Wait();
  void Signal();     // wakes one waiting goroutine, if any; L need not be held
  void Broadcast();  // wakes all waiting goroutines

  Locker L;

 private:
  internal::notifyList notify_;
};

// NewCond returns a new Cond with Locker l (Go's sync.NewCond).
inline std::unique_ptr<Cond> NewCond(Locker l) { return std::make_unique<Cond>(l); }

}  // namespace gort::sync
