// cond.cpp: sync::Cond (mirrors sync/cond.go) over the runtime's notify
// list (runtime/sema.cpp).
//
// Wait takes a ticket before unlocking L: a Signal that comes after the
// unlock (even before this goroutine parks) finds the ticket and
// notifies it, so no wake-up is lost between Unlock and park. Signal and
// Broadcast do not need L.
//
// Go checks at run time that a Cond is not copied after first use; in C++
// the copy constructor is deleted, so the check is made by the compiler.
//
// TSan: Signal and Broadcast release on the notify list and a returning
// Wait acquires it, covering the wake-up a Wait receives without parking
// (its ticket notified before it queued).
#include "gort/sync.hpp"

#include "runtime/sanitizer.hpp"
#include "runtime/sema.hpp"

namespace gort::sync {

void Cond::Wait() {
  const uint32_t t = internal::notifyListAdd(&notify_);
  L.Unlock();
  internal::notifyListWait(&notify_, t);
  internal::san::acquire(&notify_);
  L.Lock();
}

void Cond::Signal() {
  internal::san::release(&notify_);
  internal::notifyListNotifyOne(&notify_);
}

void Cond::Broadcast() {
  internal::san::release(&notify_);
  internal::notifyListNotifyAll(&notify_);
}

}  // namespace gort::sync
