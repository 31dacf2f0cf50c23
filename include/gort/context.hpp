// context.hpp: package context: cancellation, deadlines and request-scoped
// values across goroutines.
//
//   auto [ctx, cancel] = gort::context::WithTimeout(gort::context::Background(), 50 * time::Millisecond);
//   gort::select(gort::recv(ctx.Done(), [&] { err = ctx.Err(); }), ...);
//   cancel();
//
// Canceling a context cancels its descendants; Err() then returns Canceled
// ("context canceled") or DeadlineExceeded ("context deadline exceeded",
// Timeout() true). Done() is closed at that moment (nil for Background and
// TODO, which are never canceled).
#pragma once

#include <any>
#include <functional>
#include <memory>
#include <string>
#include <utility>

#include "gort/chan.hpp"
#include "gort/errors.hpp"
#include "gort/time.hpp"

namespace gort::context {

extern const error& Canceled;
extern const error& DeadlineExceeded;

// The element of Done channels (Go's struct{}: takes no space).
struct Signal {};

// A Value key: the address of something the key's owner controls (Go's
// unexported key types), e.g. `static const int requestIDKey = 0;`.
using Key = const void*;

namespace internal {
struct ctxImpl;
}

// Context is a handle (Go's context.Context interface value; copies share).
class Context {
 public:
  Context() = default;  // nil; use Background() or TODO()
  explicit operator bool() const { return impl_ != nullptr; }
  recv_only<Signal> Done() const;
  error Err() const;
  // The deadline, and whether there is one.
  std::pair<time::Time, bool> Deadline() const;
  // The value bound to key by the nearest WithValue, or an empty any.
  std::any Value(Key key) const;
  std::string String() const;

  explicit Context(std::shared_ptr<internal::ctxImpl> impl) : impl_(std::move(impl)) {}
  const std::shared_ptr<internal::ctxImpl>& impl() const { return impl_; }

 private:
  std::shared_ptr<internal::ctxImpl> impl_;
};

// CancelFunc cancels its context (and its children); later calls do nothing.
using CancelFunc = std::function<void()>;

Context Background();
Context TODO();
std::pair<Context, CancelFunc> WithCancel(Context parent);
std::pair<Context, CancelFunc> WithDeadline(Context parent, time::Time d);
std::pair<Context, CancelFunc> WithTimeout(Context parent, time::Duration timeout);
Context WithValue(Context parent, Key key, std::any val);
// Cause returns the cause a context was canceled with (its Err here).
error Cause(const Context& c);

}  // namespace gort::context
