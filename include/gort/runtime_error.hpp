// runtime_error.hpp: run-time panics as values (Go's runtime.Error).
//
// Go panics with a runtime.Error for an index out of range, a nil
// dereference, an integer division by zero, a failed type assertion and
// panic(nil). gort does the same from its checked helpers (panic.hpp: at,
// deref, div, mod), from a fault at a low address in a goroutine (a nil
// dereference caught as SIGSEGV) and from as<T>. recover() returns them
// boxed in a gort::any; `auto* e = dynamic_cast<const
// gort::runtime::Error*>(r.error())` is Go's `e, ok := r.(runtime.Error)`.
//
// C++ forbids a member function named after its class, so the message is
// what() (std::exception) rather than Go's Error().
#pragma once

#include <cstdint>
#include <exception>
#include <string>

namespace gort::runtime {

class Error : public std::exception {
 public:
  explicit Error(std::string msg) : msg_(std::move(msg)) {}
  const char* what() const noexcept override { return msg_.c_str(); }
  void RuntimeError() const noexcept {}  // marker, as in Go's interface

  // A panic raised by a synchronous signal (a nil dereference) carries it,
  // and an unrecovered one prints Go's "[signal SIGSEGV: ...]" line.
  struct Signal {
    int sig = 0;
    int code = 0;
    uintptr_t addr = 0;
    uintptr_t pc = 0;
  };
  const Signal& signal() const noexcept { return sig_; }
  Error& withSignal(const Signal& s) {
    sig_ = s;
    return *this;
  }

 private:
  std::string msg_;
  Signal sig_;
};

// Go's plainError: a run-time panic whose message carries no "runtime
// error: " prefix ("send on closed channel", "close of nil channel").
class PlainError : public Error {
 public:
  using Error::Error;
};

// A failed x.(T): "interface conversion: interface {} is string, not int".
class TypeAssertionError : public Error {
 public:
  TypeAssertionError(std::string concrete, std::string asserted)
      : Error("interface conversion: interface {} is " + concrete + ", not " + asserted),
        concrete_(std::move(concrete)),
        asserted_(std::move(asserted)) {}
  const std::string& concrete() const noexcept { return concrete_; }  // "nil" for a nil interface
  const std::string& asserted() const noexcept { return asserted_; }

 private:
  std::string concrete_, asserted_;
};

// What recover() returns after panic(nil) (Go 1.21), unless
// GODEBUG=panicnil=1 restores the old nil panic value.
class PanicNilError : public Error {
 public:
  PanicNilError() : Error("panic called with nil argument") {}
};

}  // namespace gort::runtime
