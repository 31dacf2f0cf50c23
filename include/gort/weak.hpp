// weak.hpp: weak pointers (Go 1.24's package weak; src/runtime/mspecial.cpp).
//
//   gort::weak::Pointer<Node> w = gort::weak::Make(n);
//   if (gort::Ptr<Node> s = w.Value()) use(s);  // null once n is gone
//
// A weak pointer does not keep its object alive. Value() returns the
// original pointer while the object is reachable, and null from the cycle
// that first finds it unreachable on, before that object's finalizer (if
// any) runs: an object resurrected for its finalizer reads as gone, and
// Value() never brings back an object the collector has given up on.
// Weak pointers made from the same pointer compare equal, even once the
// object is gone; made from a resurrected object, a new one differs from
// the old. Value() may be called from any thread.
#pragma once

#include <cstddef>
#include <cstdint>

#include "gort/new.hpp"

namespace gort {

namespace internal {
// The indirection every weak pointer to one address shares: a heap object
// of its own that the collector clears when the referent dies.
struct WeakHandle {
  uintptr_t p;  // the referent's address; 0 once it is gone (atomic accesses)
};
// Stores into out the handle for p (made on first use).
void weakMake(const void* p, PtrWord& out);
// Stores into out the handle's referent, if it is still alive.
void weakValue(WeakHandle* h, PtrWord& out);
}  // namespace internal

namespace weak {

template <class T>
class Pointer {
 public:
  Pointer() = default;
  Ptr<T> Value() const {
    Ptr<T> out;
    if (h_) internal::weakValue(h_.get(), internal::PtrAccess::word(out));
    return out;
  }
  bool operator==(const Pointer& o) const noexcept { return h_ == o.h_; }

 private:
  template <class U>
  friend Pointer<U> Make(U* p);
  Ptr<internal::WeakHandle> h_;
};

template <class T>
Pointer<T> Make(T* p) {
  Pointer<T> w;
  if (p) internal::weakMake(p, internal::PtrAccess::word(w.h_));
  return w;
}
template <class T>
Pointer<T> Make(const Ptr<T>& p) {
  return Make(p.get());
}

}  // namespace weak
}  // namespace gort
