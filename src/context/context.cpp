// context.cpp: package context (mirrors context/context.go).
//
// A cancelCtx owns its Done channel (made on first use, closed on cancel)
// and the set of its cancelable children; cancel closes the channel,
// cancels the children, then unlinks itself from its parent. A timerCtx
// adds a deadline timer (time::AfterFunc) that cancels it with
// DeadlineExceeded. WithValue and the empty contexts are not cancelable:
// a new child registers with its nearest cancelable ancestor.
//
// Lock order: a parent's mu before its children's (cancel walks down); no
// lock is held while the parent list is walked up.
#include "gort/context.hpp"

#include <stdexcept>
#include <unordered_set>

#include "runtime/lock_futex.hpp"

namespace gort::context {

namespace {
struct deadlineExceededError final : error::Interface {
  std::string Error() const override { return "context deadline exceeded"; }
  bool Timeout() const override { return true; }
  bool Temporary() const override { return true; }
};
}  // namespace

const error& Canceled = *new error(errors::New("context canceled"));
const error& DeadlineExceeded = *new error(make_error<deadlineExceededError>());

namespace internal {

struct cancelCtx;

struct ctxImpl : std::enable_shared_from_this<ctxImpl> {
  virtual ~ctxImpl() = default;
  virtual recv_only<Signal> Done() { return nullptr; }
  virtual error Err() { return {}; }
  virtual std::pair<time::Time, bool> Deadline() { return {time::Time(), false}; }
  virtual std::any Value(Key) { return {}; }
  virtual std::string String() = 0;
  // The nearest cancelable context at or above this one.
  virtual cancelCtx* nearestCancel() { return nullptr; }
};

struct emptyCtx final : ctxImpl {
  explicit emptyCtx(const char* n) : name(n) {}
  std::string String() override { return name; }
  const char* name;
};

struct cancelCtx : ctxImpl {
  explicit cancelCtx(Context p) : parent(std::move(p)) {}

  recv_only<Signal> Done() override {
    gort::internal::lockGuard g(&mu);
    if (!done) done = make_chan<Signal>(0);
    return done;
  }
  error Err() override {
    gort::internal::lockGuard g(&mu);
    return err;
  }
  std::pair<time::Time, bool> Deadline() override { return parent.Deadline(); }
  std::any Value(Key k) override { return parent.Value(k); }
  std::string String() override { return parent.String() + ".WithCancel"; }
  cancelCtx* nearestCancel() override { return this; }

  // Cancels this context and its children with e.
  virtual void cancel(bool removeFromParent, error e) {
    std::unordered_set<std::shared_ptr<cancelCtx>> kids;
    {
      gort::internal::lockGuard g(&mu);
      if (err) return;  // already canceled
      err = e;
      if (!done) done = make_chan<Signal>(0);
      gort::close(done);
      kids.swap(children);
    }
    for (auto& c : kids) c->cancel(false, e);
    if (removeFromParent) unlinkFromParent();
  }

  void unlinkFromParent() {
    if (!parent) return;
    if (cancelCtx* p = parent.impl()->nearestCancel()) {
      gort::internal::lockGuard g(&p->mu);
      p->children.erase(std::static_pointer_cast<cancelCtx>(shared_from_this()));
    }
  }

  // Arranges for this context to be canceled when its parent is.
  void propagateCancel() {
    cancelCtx* p = parent.impl()->nearestCancel();
    if (!p) return;  // the parent is never canceled
    error perr;
    {
      gort::internal::lockGuard g(&p->mu);
      perr = p->err;
      if (!perr) p->children.insert(std::static_pointer_cast<cancelCtx>(shared_from_this()));
    }
    if (perr) cancel(false, perr);
  }

  Context parent;
  gort::internal::mutex mu;
  chan<Signal> done;                                   // mu; made lazily
  std::unordered_set<std::shared_ptr<cancelCtx>> children;  // mu
  error err;                                           // mu
};

struct timerCtx final : cancelCtx {
  timerCtx(Context p, time::Time d) : cancelCtx(std::move(p)), deadline(d) {}
  std::pair<time::Time, bool> Deadline() override { return {deadline, true}; }
  std::string String() override {
    return parent.String() + ".WithDeadline(" + deadline.String() + " [" + time::Until(deadline).String() + "])";
  }
  void cancel(bool removeFromParent, error e) override {
    cancelCtx::cancel(removeFromParent, e);
    gort::internal::lockGuard g(&mu);
    if (timer) timer.Stop();
  }
  time::Time deadline;
  time::Timer timer;  // mu
};

struct valueCtx final : ctxImpl {
  valueCtx(Context p, Key k, std::any v) : parent(std::move(p)), key(k), val(std::move(v)) {}
  recv_only<Signal> Done() override { return parent.Done(); }
  error Err() override { return parent.Err(); }
  std::pair<time::Time, bool> Deadline() override { return parent.Deadline(); }
  std::any Value(Key k) override { return k == key ? val : parent.Value(k); }
  std::string String() override { return parent.String() + ".WithValue"; }
  cancelCtx* nearestCancel() override { return parent.impl()->nearestCancel(); }
  Context parent;
  Key key;
  std::any val;
};

CancelFunc cancelFunc(const std::shared_ptr<cancelCtx>& c) {
  return [c] { c->cancel(true, Canceled); };
}

}  // namespace internal

recv_only<Signal> Context::Done() const { return impl_->Done(); }
error Context::Err() const { return impl_->Err(); }
std::pair<time::Time, bool> Context::Deadline() const { return impl_->Deadline(); }
std::any Context::Value(Key key) const { return impl_->Value(key); }
std::string Context::String() const { return impl_->String(); }

Context Background() {
  static const Context bg(std::make_shared<internal::emptyCtx>("context.Background"));
  return bg;
}

Context TODO() {
  static const Context todo(std::make_shared<internal::emptyCtx>("context.TODO"));
  return todo;
}

std::pair<Context, CancelFunc> WithCancel(Context parent) {
  if (!parent) throw std::invalid_argument("cannot create context from nil parent");
  auto c = std::make_shared<internal::cancelCtx>(std::move(parent));
  c->propagateCancel();
  return {Context(c), internal::cancelFunc(c)};
}

std::pair<Context, CancelFunc> WithDeadline(Context parent, time::Time d) {
  if (!parent) throw std::invalid_argument("cannot create context from nil parent");
  if (auto [cur, ok] = parent.Deadline(); ok && cur.Before(d)) {
    // The parent's deadline is sooner: it will cancel us in time.
    return WithCancel(std::move(parent));
  }
  auto c = std::make_shared<internal::timerCtx>(std::move(parent), d);
  c->propagateCancel();
  time::Duration left = time::Until(d);
  if (left.Nanoseconds() <= 0) {
    c->cancel(true, DeadlineExceeded);
    return {Context(c), [c] { c->cancel(false, Canceled); }};
  }
  {
    gort::internal::lockGuard g(&c->mu);
    if (!c->err) {
      std::weak_ptr<internal::timerCtx> weak = c;
      c->timer = time::AfterFunc(left, [weak] {
        if (auto self = weak.lock()) self->cancel(true, DeadlineExceeded);
      });
    }
  }
  return {Context(c), internal::cancelFunc(c)};
}

std::pair<Context, CancelFunc> WithTimeout(Context parent, time::Duration timeout) {
  return WithDeadline(std::move(parent), time::Now().Add(timeout));
}

Context WithValue(Context parent, Key key, std::any val) {
  if (!parent) throw std::invalid_argument("cannot create context from nil parent");
  if (!key) throw std::invalid_argument("nil key");
  return Context(std::make_shared<internal::valueCtx>(std::move(parent), key, std::move(val)));
}

error Cause(const Context& c) { return c.Err(); }

}  // namespace gort::context
