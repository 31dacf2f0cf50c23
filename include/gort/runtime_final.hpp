// runtime_final.hpp: finalizers, cleanups and pinning (Go's
// runtime.SetFinalizer, runtime.AddCleanup and runtime.Pinner; the
// collector's side is src/runtime/mspecial.cpp).
//
//   auto f = gort::New<File>(fd);
//   gort::runtime::SetFinalizer(f, [](gort::Ptr<File> f) { f->Close(); });
//   gort::runtime::Cleanup c = gort::runtime::AddCleanup(f, [](int fd) { close(fd); }, fd);
//
// SetFinalizer(p, fn) (Go 1.19): p points at the start of a heap object (or
// anywhere inside a tiny pointer-free one, as Go allows); some time after
// the object becomes unreachable, fn(p) runs on the finalizer goroutine,
// one finalizer at a time. The object is resurrected for it: whatever it
// points to is kept, so if A points to B and both have finalizers only A's
// runs in that cycle (B's once A is gone); an object is freed no earlier
// than the cycle after its finalizer ran, and only if nothing reaches it
// then. A cycle of objects that holds a finalizer is never collected. One
// finalizer per pointer: setting a second is fatal ("finalizer already
// set"); SetFinalizer(p, nullptr) clears it. A pointer to a global is
// accepted and ignored, as Go ignores linker-allocated objects; any other
// pointer outside the heap, or inside an object that may hold pointers, is
// fatal, with Go's messages.
//
// AddCleanup(p, fn, arg) (Go 1.24): p may point anywhere into a heap
// object; once the object is unreachable, fn(arg) runs on the same
// goroutine. Any number per object, run in no particular order, and the
// object is not resurrected: neither fn nor arg may reach it (arg == p
// panics, as in Go; an arg or a captured Ptr that reaches it keeps it alive
// forever). Cleanup::Stop cancels one that has not run yet.
//
// fn (either kind) is copied into memory the collector treats as roots: the
// Ptrs it captures keep their objects alive; raw pointers it captures keep
// nothing alive.
//
// The order on one object:
//   1. its weak pointers read null (weak.hpp), from the end of the cycle
//      that first finds it unreachable, before anything below runs;
//   2. its finalizer, if it has one, after that cycle (the object
//      resurrected, its cleanups kept);
//   3. its cleanups, after the first cycle that finds it unreachable with
//      no finalizer (for a finalized object: a later cycle than 2's);
//   4. its destructor (new.hpp), once the cleanups have all returned
//      (queued by a later cycle's sweep); without cleanups, queued by the
//      sweep of the cycle of step 3.
//
// Pinner (Go 1.21): Pin(p) keeps p's object alive, and everything it points
// to, until Unpin, so foreign code may hold a raw pointer to it; a Pinner
// destroyed with objects still pinned panics as Go's finalizer on a leaked
// Pinner does. Pinning a pointer that is not on gort's heap panics
// ("runtime.Pinner.Pin: argument is not a Go pointer"), except a global's,
// which is ignored.
#pragma once

#include <cstddef>
#include <cstdint>
#include <exception>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "gort/internal/type.hpp"
#include "gort/new.hpp"
#include "gort/panic.hpp"
#include "gort/runtime_error.hpp"

namespace gort {

namespace internal {

// The runtime calls release() once it is done with one (a function object
// without state is one shared instance, never allocated per call).
struct FinalizerFn {
  virtual ~FinalizerFn() = default;
  virtual void run(void* p) = 0;
  virtual void release() { delete this; }
};
struct CleanupFn {
  virtual ~CleanupFn() = default;
  virtual void run() = 0;
  virtual void release() { delete this; }
};
template <class Base, class Fn>
struct Shared final : Fn {
  using Fn::Fn;
  void release() override {}
};

// mfinal.cpp: fn null clears; fn is owned by the runtime from here on.
void setFinalizer(void* p, const Type* elem, FinalizerFn* fn);
// mcleanup.cpp: the cleanup's id (0: a global's, never runs).
uint64_t addCleanup(void* p, CleanupFn* fn);
void stopCleanup(uintptr_t p, uint64_t id);
// pinner.cpp: whether p's object was pinned (false: a global's).
bool pin(const void* p);
void unpin(const void* p);
[[noreturn]] void pinnerPanic(const char* msg);

template <class T>
constexpr bool isPointerLike = std::is_pointer_v<T> || std::is_null_pointer_v<T>;
template <class T>
constexpr bool isPointerLike<Ptr<T>> = true;
template <class S>
const void* rawPointerOf(const S& s) {
  if constexpr (std::is_null_pointer_v<S>) {
    return nullptr;
  } else if constexpr (std::is_pointer_v<S>) {
    return static_cast<const void*>(s);
  } else {
    return static_cast<const void*>(s.get());
  }
}

}  // namespace internal

namespace runtime {

template <class T, class F>
void SetFinalizer(T* p, F fn) {
  static_assert(std::is_invocable_v<F&, Ptr<T>> || std::is_invocable_v<F&, T*>,
                "runtime::SetFinalizer: the finalizer must take the object's Ptr<T> or T*");
  struct Fn : internal::FinalizerFn {
    explicit Fn(F&& f) : f(std::move(f)) {}
    void run(void* q) override {
      if constexpr (std::is_invocable_v<F&, Ptr<T>>) {
        f(internal::PtrAccess::adopt(static_cast<T*>(q)));
      } else {
        f(static_cast<T*>(q));
      }
    }
    F f;
  };
  internal::FinalizerFn* f;
  if constexpr (std::is_empty_v<F> && std::is_trivially_copyable_v<F>) {
    static internal::Shared<internal::FinalizerFn, Fn> shared(std::move(fn));
    f = &shared;
  } else {
    f = new Fn(std::move(fn));
  }
  internal::setFinalizer(const_cast<std::remove_cv_t<T>*>(p), &internal::typeOf<std::remove_cv_t<T>>, f);
}
template <class T>
void SetFinalizer(T* p, std::nullptr_t) {
  internal::setFinalizer(const_cast<std::remove_cv_t<T>*>(p), &internal::typeOf<std::remove_cv_t<T>>, nullptr);
}
template <class T, class F>
void SetFinalizer(const Ptr<T>& p, F fn) {
  SetFinalizer(p.get(), std::move(fn));
}

// A handle on one cleanup (Go's runtime.Cleanup). It does not keep the
// object alive.
class Cleanup {
 public:
  Cleanup() = default;
  // Cancels the cleanup if it has not started; a no-op otherwise.
  void Stop() const {
    if (id_) internal::stopCleanup(ptr_, id_);
  }

 private:
  template <class T, class F, class S>
  friend Cleanup AddCleanup(T* p, F fn, S arg);
  Cleanup(uint64_t id, uintptr_t ptr) : id_(id), ptr_(ptr) {}
  uint64_t id_ = 0;
  uintptr_t ptr_ = 0;
};

template <class T, class F, class S>
Cleanup AddCleanup(T* p, F fn, S arg) {
  static_assert(std::is_invocable_v<F&, S&>, "runtime::AddCleanup: the cleanup must take arg");
  if (p == nullptr) gort::panic(std::string("runtime.AddCleanup: ptr is nil"));
  if constexpr (internal::isPointerLike<S>) {
    if (internal::rawPointerOf(arg) == static_cast<const void*>(p)) {
      gort::panic(std::string("runtime.AddCleanup: ptr is equal to arg, cleanup will never run"));
    }
  }
  struct Fn final : internal::CleanupFn {
    Fn(F&& f, S&& a) : f(std::move(f)), a(std::move(a)) {}
    void run() override { f(a); }
    F f;
    S a;
  };
  uint64_t id = internal::addCleanup(const_cast<std::remove_cv_t<T>*>(p), new Fn(std::move(fn), std::move(arg)));
  return Cleanup(id, reinterpret_cast<uintptr_t>(p));
}
template <class T, class F, class S>
Cleanup AddCleanup(const Ptr<T>& p, F fn, S arg) {
  return AddCleanup(p.get(), std::move(fn), std::move(arg));
}

class Pinner {
 public:
  Pinner() = default;
  Pinner(const Pinner&) = delete;
  Pinner& operator=(const Pinner&) = delete;
  ~Pinner() noexcept(false) {
    if (refs_.empty()) return;
    Unpin();
    if (std::uncaught_exceptions() == 0) {
      internal::pinnerPanic("runtime.Pinner: found leaking pinned pointer; forgot to call Unpin()?");
    }
  }

  template <class T>
  void Pin(T* p) {
    if (internal::pin(p)) refs_.push_back(p);
  }
  template <class T>
  void Pin(const Ptr<T>& p) {
    Pin(p.get());
  }
  void Pin(std::nullptr_t) { internal::pinnerPanic("runtime.Pinner: argument is nil"); }
  // Unpins every object this Pinner pinned.
  void Unpin() {
    for (const void* p : refs_) internal::unpin(p);
    refs_.clear();
  }

 private:
  std::vector<const void*> refs_;
};

}  // namespace runtime
}  // namespace gort
