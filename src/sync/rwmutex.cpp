// rwmutex.cpp: sync::RWMutex (mirrors sync/rwmutex.go).
//
// readerCount_ counts the readers in. A writer first takes w_ (so writers
// queue among themselves), then subtracts kMaxReaders from readerCount_:
// the count turns negative, which tells arriving readers to wait on
// readerSem_, and the value before the subtraction is the number of readers
// still inside. The writer adds that number to readerWait_ and waits on
// writerSem_ unless it is zero already; departing readers that see a
// negative count decrement readerWait_ and the last one wakes the writer.
// Unlock adds kMaxReaders back, releases every reader that queued
// meanwhile (the count says how many), then releases w_.
//
// So a pending writer waits only for the readers already in, and readers
// that arrive after it wait for it: writers are not starved, and a
// recursive RLock can deadlock against a pending writer (as in Go).
//
// TSan (Go's race annotations): readers release on writerSem_ (merged) and
// acquire readerSem_; the writer releases readerSem_ and acquires both. The
// inner w_'s own edges are incidental, and reader-to-reader edges must not
// exist, or TSan would miss races between readers that wrongly write.
#include "gort/sync.hpp"

#include "runtime/panic.hpp"
#include "runtime/sanitizer.hpp"
#include "runtime/sema.hpp"

namespace gort::sync {

namespace san = internal::san;

void RWMutex::RLock() {
  if (readerCount_.fetch_add(1, std::memory_order_acquire) + 1 < 0) {
    // A writer is pending or in: wait for its Unlock.
    internal::semacquire1(&readerSem_, false, internal::waitReason::semacquire, true);
  }
  san::acquire(&readerSem_);
}

bool RWMutex::TryRLock() {
  int32_t c = readerCount_.load(std::memory_order_relaxed);
  do {
    if (c < 0) return false;
  } while (!readerCount_.compare_exchange_weak(c, c + 1, std::memory_order_acquire, std::memory_order_relaxed));
  san::acquire(&readerSem_);
  return true;
}

void RWMutex::RUnlock() {
  san::release(&writerSem_);
  if (int32_t r = readerCount_.fetch_sub(1, std::memory_order_release) - 1; r < 0) rUnlockSlow(r);
}

void RWMutex::rUnlockSlow(int32_t r) {
  if (r + 1 == 0 || r + 1 == -kMaxReaders) internal::fatal("sync: RUnlock of unlocked RWMutex");
  // A writer is pending; the last reader it waits for wakes it.
  if (readerWait_.fetch_sub(1, std::memory_order_acq_rel) - 1 == 0) internal::semrelease1(&writerSem_, false);
}

void RWMutex::Lock() {
  w_.Lock();  // first, exclude the other writers
  // Announce the pending writer to readers, and count those still inside.
  int32_t r = readerCount_.fetch_sub(kMaxReaders, std::memory_order_acq_rel);
  if (r != 0 && readerWait_.fetch_add(r, std::memory_order_acq_rel) + r != 0) {
    internal::semacquire1(&writerSem_, false, internal::waitReason::semacquire, true);
  }
  san::acquire(&readerSem_);
  san::acquire(&writerSem_);
}

bool RWMutex::TryLock() {
  if (!w_.TryLock()) return false;
  int32_t zero = 0;
  if (!readerCount_.compare_exchange_strong(zero, -kMaxReaders, std::memory_order_acquire,
                                            std::memory_order_relaxed)) {
    w_.Unlock();
    return false;
  }
  san::acquire(&readerSem_);
  san::acquire(&writerSem_);
  return true;
}

void RWMutex::Unlock() {
  san::release(&readerSem_);
  // Announce to readers there is no active writer.
  int32_t r = readerCount_.fetch_add(kMaxReaders, std::memory_order_release) + kMaxReaders;
  if (r >= kMaxReaders) internal::fatal("sync: Unlock of unlocked RWMutex");
  // Unblock the readers that arrived while we held the lock.
  for (int32_t i = 0; i < r; i++) internal::semrelease1(&readerSem_, false);
  w_.Unlock();
}

Locker RWMutex::RLocker() noexcept {
  return Locker(
      this, [](void* rw) { static_cast<RWMutex*>(rw)->RLock(); },
      [](void* rw) { static_cast<RWMutex*>(rw)->RUnlock(); });
}

}  // namespace gort::sync
