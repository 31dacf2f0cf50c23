// errors.hpp: Go's error interface and package errors.
//
// gort::error is a nullable handle to an immutable error value: the default
// (or nullptr) is Go's nil error, `if (err)` tests for non-nil, and
// err.Error() is the message. Functions that can fail return their error as
// a value, Go style: `auto [n, err] = conn.Read(buf);`.
//
// Equality is Go's interface comparison: the same error value (sentinels
// such as io::EOF_ compare by identity), or, for value-like errors such as
// syscall::Errno, equal contents (Interface::Equals).
//
// Interface also carries the optional methods Go code asks of errors through
// interfaces: Unwrap (errors.Is/As chains), Timeout and Temporary (net.Error).
#pragma once

#include <memory>
#include <string>
#include <utility>

namespace gort {

class error {
 public:
  struct Interface {
    virtual ~Interface() = default;
    virtual std::string Error() const = 0;
    virtual error Unwrap() const;                 // the wrapped error, or nil
    virtual bool Timeout() const { return false; }
    virtual bool Temporary() const { return false; }
    // Value equality for value-like errors; identity by default.
    virtual bool Equals(const Interface& other) const { return this == &other; }
  };

  error() = default;
  error(std::nullptr_t) {}  // NOLINT: nil converts implicitly, as in Go
  explicit error(std::shared_ptr<const Interface> impl) : impl_(std::move(impl)) {}

  explicit operator bool() const { return impl_ != nullptr; }
  std::string Error() const { return impl_ ? impl_->Error() : "<nil>"; }
  bool Timeout() const { return impl_ && impl_->Timeout(); }
  bool Temporary() const { return impl_ && impl_->Temporary(); }
  const Interface* get() const { return impl_.get(); }

  friend bool operator==(const error& a, const error& b) {
    if (a.impl_ == b.impl_) return true;
    return a.impl_ && b.impl_ && a.impl_->Equals(*b.impl_);
  }

 private:
  std::shared_ptr<const Interface> impl_;
};

inline error error::Interface::Unwrap() const { return {}; }

// Makes an error value of type T (which derives from error::Interface).
template <class T, class... Args>
error make_error(Args&&... args) {
  return error(std::make_shared<const T>(std::forward<Args>(args)...));
}

namespace errors {

// New returns a distinct error with the given text.
error New(std::string text);
// Unwrap returns err's wrapped error, or nil.
error Unwrap(const error& err);
// Is reports whether err or any error it wraps equals target.
bool Is(error err, const error& target);
// As finds the first error in err's chain of type T.
template <class T>
const T* As(error err) {
  for (; err; err = err.get()->Unwrap()) {
    if (auto* t = dynamic_cast<const T*>(err.get())) return t;
  }
  return nullptr;
}

}  // namespace errors
}  // namespace gort
