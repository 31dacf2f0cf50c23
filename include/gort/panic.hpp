// panic.hpp: defer, panic and recover (the language half of Go's
// runtime/panic.go), and the checked operations that raise run-time panics.
//
// Go:                                   gort:
//   func f() (r int) {                    int f() {
//     defer func() {                        int r = 0;
//       if recover() != nil { r = -1 }      gort::func([&](gort::Defer& defer) {
//     }()                                     defer([&] { if (gort::recover()) r = -1; });
//     r = work()                              r = work();
//     return                                });
//   }                                       return r;
//                                         }
//
// gort::func(body) runs body(defer) as one Go function body: `defer(f)`
// pushes f on the function's LIFO list, and the list runs when body returns
// or panics. Deferred calls capture the "named results" by reference and may
// change them. A body that returns a value R makes func return it (R{} after
// a recovered panic: Go's zero result).
//
// Why a function wrapper and not only a scope object: C++ cannot end an
// exception's unwinding from a destructor, so a deferred call run by a
// destructor could never make the function "return normally to its caller"
// after recover(), which is the point of recover. func catches the panic at
// the function's boundary, runs the deferred calls there and either returns
// (recovered) or rethrows (not recovered), which is exactly Go's contract.
// On the normal path it costs what the deferred calls cost: the closures live
// inline in the Defer (no allocation for up to ~6 small closures), a return
// runs them in place, and the try block is free (table-driven unwinding).
//
// Panics are C++ exceptions of type gort::PanicException (not a
// std::exception, so `catch (const std::exception&)` in ordinary code does
// not swallow them). Any other exception that reaches a func is a panic too:
// recover() returns it as a gort::any holding its std::exception_ptr. A
// panic (or exception) that leaves a goroutine kills the program with Go's
// report (exit status 2). runtime::Goexit runs the deferred calls as a panic
// would, but cannot be recovered.
//
// recover() returns the panic value, and stops the panic, only when called
// *directly* by a deferred call while its function is panicking. "Directly"
// is judged on the real call stack: recover's caller must be the deferred
// callable itself (the lambda or function passed to defer), so a helper
// that the deferred call invokes gets nil, as in Go (inlined or not: the
// debug information's inline records tell an inlined helper's call apart, so
// code built without -g cannot), and so does a deferred call of another
// function that returns normally meanwhile. Otherwise, and
// when nothing panics, recover() returns nil (an empty any). A deferred call
// that panics replaces the current panic; an unrecovered report lists the
// chain ("panic: first [recovered]\n\tpanic: second").
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <new>
#include <string>
#include <type_traits>
#include <utility>

#include "gort/any.hpp"
#include "gort/runtime_error.hpp"

namespace gort {

namespace internal {
struct PanicRecord;
}

// The exception that carries a panic.
class PanicException {
 public:
  PanicException(any v, std::shared_ptr<internal::PanicRecord> prev = nullptr);
  const any& value() const noexcept { return value_; }
  // Go's report of this panic and the ones it replaced, oldest first:
  // "panic: first [recovered]\n\tpanic: second\n".
  std::string message() const;

  // Internal: the panics this one replaced, and where it was raised.
  std::shared_ptr<internal::PanicRecord> prev;
  static constexpr int kMaxPCs = 48;
  int npcs = 0;
  uintptr_t pcs[kMaxPCs];

 private:
  any value_;
};

// panic(v): Go's panic. panic(nullptr) (or an empty any) panics with a
// runtime::PanicNilError unless GODEBUG=panicnil=1.
[[noreturn]] void panic(any v);

// recover(): see the file comment.
any recover();

class Defer;
template <class F>
auto func(F&& body);

// The deferred calls of one gort::func body, in LIFO order.
class Defer {
 public:
  Defer(const Defer&) = delete;
  Defer& operator=(const Defer&) = delete;

  // defer f(): f is copied (or moved) now and called when the function
  // returns or panics. A callable with arguments is deferred by binding
  // them in a lambda, evaluated now as Go evaluates deferred arguments.
  template <class F>
  void operator()(F&& f);

  // The node of one deferred call; the closure follows it in memory.
  struct Node {
    // kCall runs the call (and frees the closure); kCallDirect does so on
    // the panic path, keeping the frames recover() looks for; kAddress only
    // returns the callable's code address, when it has a single one.
    enum Op : int { kCall, kCallDirect, kAddress };
    void* (*fn)(Node* n, Op op);
    Node* prev;
  };

 private:
  template <class F>
  friend auto func(F&& body);

  static constexpr size_t kInline = 192;

  Defer() noexcept {}
  ~Defer() = default;

  template <class H, bool Heap>
  static void* thunk(Node* n, Node::Op op);
  // The callable's operator() as a member pointer: a lambda's, or the one
  // a call with no arguments picks from an overload set or a generic
  // lambda; nullptr for other callables.
  template <class C>
  static constexpr auto callOperator() {
    if constexpr (std::is_class_v<C>) {
      using R = decltype(std::declval<C&>()());
      if constexpr (requires { &C::operator(); }) {
        return &C::operator();
      } else if constexpr (requires { static_cast<R (C::*)() const>(&C::operator()); }) {
        return static_cast<R (C::*)() const>(&C::operator());
      } else if constexpr (requires { static_cast<R (C::*)()>(&C::operator()); }) {
        return static_cast<R (C::*)()>(&C::operator());
      } else {
        return nullptr;
      }
    } else {
      return nullptr;
    }
  }

  // The return path: each call is unlinked before it runs, so a call that
  // panics leaves the rest for panicking().
  void runNormal() {
    while (Node* n = top_) {
      top_ = n->prev;
      n->fn(n, Node::kCall);
    }
  }
  // The panic path, inside func's catch handler: runs the remaining calls
  // with the panic visible to recover(); returns if one recovered, rethrows
  // otherwise (panic.cpp).
  void panicking();

  Node* top_ = nullptr;
  size_t used_ = 0;
  alignas(16) unsigned char buf_[kInline];
};

template <class H, bool Heap>
void* Defer::thunk(Node* n, Node::Op op) {
  H* h = static_cast<H*>(n);
  using C = decltype(h->c);
  if (op == Node::kAddress) {
    if constexpr (std::is_pointer_v<C> && std::is_function_v<std::remove_pointer_t<C>>) {
      return reinterpret_cast<void*>(h->c);
    } else if constexpr (!std::is_null_pointer_v<decltype(callOperator<C>())>) {
      // Itanium C++ ABI: a pointer to a non-virtual member function starts
      // with the function's address.
      auto pm = callOperator<C>();
      void* addr;
      std::memcpy(&addr, &pm, sizeof addr);
      return addr;
    }
    return nullptr;
  }
  struct Release {
    H* h;
    ~Release() {
      if constexpr (Heap) {
        delete h;
      } else {
        h->~H();
      }
    }
  } release{h};
  if (op == Node::kCallDirect) {
    // recover() recognises a direct call by the frames above it: the
    // callable must keep a frame of its own (call it through a member
    // pointer the optimiser cannot see through, so it is not inlined here),
    // and so must this thunk (no tail call).
    if constexpr (!std::is_null_pointer_v<decltype(callOperator<C>())>) {
      auto pm = callOperator<C>();
      asm volatile("" : "+m"(pm));
      (h->c.*pm)();
    } else {
      h->c();
    }
    asm volatile("");
    return nullptr;
  }
  h->c();
  return nullptr;
}

template <class F>
void Defer::operator()(F&& f) {
  using C = std::decay_t<F>;
  struct H : Node {
    C c;
    H(Node* prev, F&& fn, void* (*t)(Node*, Node::Op)) : Node{t, prev}, c(std::forward<F>(fn)) {}
  };
  if constexpr (sizeof(H) <= kInline && alignof(H) <= 16) {
    size_t off = (used_ + alignof(H) - 1) & ~(alignof(H) - 1);
    if (off + sizeof(H) <= kInline) {
      top_ = ::new (buf_ + off) H(top_, std::forward<F>(f), &thunk<H, false>);
      used_ = off + sizeof(H);
      return;
    }
  }
  top_ = new H(top_, std::forward<F>(f), &thunk<H, true>);
}

template <class F>
auto func(F&& body) {
  using R = std::invoke_result_t<F&, Defer&>;
  Defer d;
  if constexpr (std::is_void_v<R>) {
    try {
      body(d);
      d.runNormal();
    } catch (...) {
      d.panicking();
    }
  } else {
    static_assert(std::is_default_constructible_v<R>, "a recovered func returns R{}");
    try {
      R r = body(d);
      d.runNormal();
      return r;
    } catch (...) {
      d.panicking();
    }
    return R{};
  }
}

// ---- checked operations (run-time panics) -----------------------------------------

namespace internal {
[[noreturn]] void panicIndex(long long i, long long len);
[[noreturn]] void panicSliceAcap(long long hi, long long cap);  // s[:hi], hi > cap(s)
[[noreturn]] void panicSliceB(long long lo, long long hi);      // s[lo:hi], lo > hi or lo < 0
[[noreturn]] void panicMakeslice(const char* what);             // "len" or "cap"
[[noreturn]] void panicNilDeref();
[[noreturn]] void panicDivide();
}  // namespace internal

// s[i] with Go's bounds check: "runtime error: index out of range [5] with
// length 3". Works on anything with size() and operator[].
template <class S, class I>
decltype(auto) at(S&& s, I i) {
  static_assert(std::is_integral_v<I>, "index must be an integer");
  auto n = s.size();
  if constexpr (std::is_signed_v<I>) {
    if (i < 0 || static_cast<std::make_unsigned_t<I>>(i) >= n) internal::panicIndex(i, static_cast<long long>(n));
  } else {
    if (i >= n) internal::panicIndex(static_cast<long long>(i), static_cast<long long>(n));
  }
  return std::forward<S>(s)[i];
}

// *p with Go's nil check: "runtime error: invalid memory address or nil
// pointer dereference".
template <class P>
decltype(auto) deref(P&& p) {
  if (p == nullptr) internal::panicNilDeref();
  return *std::forward<P>(p);
}

// a / b and a % b with Go's rules: "runtime error: integer divide by zero";
// the most negative value divided by -1 wraps (Go's two's-complement
// result) instead of trapping.
template <class T>
T div(T a, T b) {
  static_assert(std::is_integral_v<T>);
  if (b == 0) internal::panicDivide();
  if constexpr (std::is_signed_v<T>) {
    if (b == -1) return static_cast<T>(-static_cast<std::make_unsigned_t<T>>(a));
  }
  return a / b;
}

template <class T>
T mod(T a, T b) {
  static_assert(std::is_integral_v<T>);
  if (b == 0) internal::panicDivide();
  if constexpr (std::is_signed_v<T>) {
    if (b == -1) return 0;
  }
  return a % b;
}

}  // namespace gort
