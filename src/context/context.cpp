// context.cpp: package context (mirrors context/context.go).
//
// A cancelCtx owns its Done channel (made on first use, closed on cancel)
// and the set of its cancelable children; cancel closes the channel,
// cancels the children, then unlinks itself from its parent. A timerCtx
// adds a deadline timer (time::AfterFunc) that cancels it with
// DeadlineExceeded. WithValue and the empty contexts are not cancelable:
// a new child registers with its nearest cancelable ancestor.
//
// Chains may be as deep as the program makes them (Go cancels 100000
// nested contexts), and a goroutine's stack is fixed, so nothing walks a
// chain by recursion: cancel works through a list of the contexts still to
// cancel, Deadline, Value and nearestCancel walk up in a loop, and a
// context that dies releases the ancestors only it held one by one
// (releaseChain) instead of by nested destructors.
//
// Lock order: no two contexts' locks are held at once (cancel takes a
// context's children out under its lock, then cancels them without it).
#include "gort/context.hpp"

#include <stdexcept>
#include <unordered_set>
#include <vector>

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
  virtual std::string String() = 0;
  // The context this one derives from (null for the empty contexts).
  virtual ctxImpl* parentImpl() { return nullptr; }
  // Gives up the reference to the parent (see releaseChain).
  virtual Context takeParent() { return Context(); }
  // This context's own deadline, value for k, or cancelation, if any; the
  // lookups below walk up to the first context that has one.
  virtual bool ownDeadline(time::Time*) { return false; }
  virtual bool ownValue(Key, std::any*) { return false; }
  virtual cancelCtx* asCancel() { return nullptr; }
};

// The nearest cancelable context at or above impl.
cancelCtx* nearestCancel(ctxImpl* impl) {
  for (; impl; impl = impl->parentImpl()) {
    if (cancelCtx* c = impl->asCancel()) return c;
  }
  return nullptr;
}

// Drops p, and with it each ancestor that p alone kept alive, one at a
// time. A context still referenced elsewhere stops the walk; the only
// reference that can appear meanwhile is a deadline timer's (weak, locked
// as it fires), and a context reached only through it has no one left to
// observe its parent.
void releaseChain(Context p) {
  while (p.impl() && p.impl().use_count() == 1) {
    Context up = p.impl()->takeParent();
    p = std::move(up);
  }
}

struct emptyCtx final : ctxImpl {
  explicit emptyCtx(const char* n) : name(n) {}
  std::string String() override { return name; }
  const char* name;
};

// A context with a parent; its destructor unwinds the chain above it.
struct derivedCtx : ctxImpl {
  explicit derivedCtx(Context p) : parent(std::move(p)) {}
  ~derivedCtx() override { releaseChain(std::move(parent)); }
  ctxImpl* parentImpl() override { return parent.impl().get(); }
  Context takeParent() override { return std::move(parent); }
  Context parent;
};

struct cancelCtx : derivedCtx {
  using derivedCtx::derivedCtx;

  recv_only<Signal> Done() {
    gort::internal::lockGuard g(&mu);
    if (!done) done = make_chan<Signal>(0);
    return done;
  }
  error Err() {
    gort::internal::lockGuard g(&mu);
    return err;
  }
  std::string String() override { return parent.String() + ".WithCancel"; }
  cancelCtx* asCancel() override { return this; }

  // Cancels this context and its descendants with e.
  void cancel(bool removeFromParent, error e) {
    std::vector<std::shared_ptr<cancelCtx>> pending;
    if (!cancelOne(e, &pending)) return;
    while (!pending.empty()) {
      std::shared_ptr<cancelCtx> c = std::move(pending.back());
      pending.pop_back();
      c->cancelOne(e, &pending);
    }
    if (removeFromParent) unlinkFromParent();
  }

  void unlinkFromParent() {
    if (cancelCtx* p = nearestCancel(parent.impl().get())) {
      gort::internal::lockGuard g(&p->mu);
      p->children.erase(std::static_pointer_cast<cancelCtx>(shared_from_this()));
    }
  }

  // Arranges for this context to be canceled when its parent is.
  void propagateCancel() {
    cancelCtx* p = nearestCancel(parent.impl().get());
    if (!p) return;  // the parent is never canceled
    error perr;
    {
      gort::internal::lockGuard g(&p->mu);
      perr = p->err;
      if (!perr) p->children.insert(std::static_pointer_cast<cancelCtx>(shared_from_this()));
    }
    if (perr) cancel(false, perr);
  }

  gort::internal::mutex mu{gort::internal::LockRank::context};
  chan<Signal> done;                                   // mu; made lazily
  std::unordered_set<std::shared_ptr<cancelCtx>> children;  // mu
  error err;                                           // mu

 private:
  // Cancels this context alone and moves its children to *pending; false
  // if it was canceled already.
  bool cancelOne(const error& e, std::vector<std::shared_ptr<cancelCtx>>* pending) {
    {
      gort::internal::lockGuard g(&mu);
      if (err) return false;
      err = e;
      if (!done) done = make_chan<Signal>(0);
      gort::close(done);
      for (const auto& c : children) pending->push_back(c);
      children.clear();
    }
    canceled();
    return true;
  }
  // What a kind of cancelable context does once canceled.
  virtual void canceled() {}
};

struct timerCtx final : cancelCtx {
  timerCtx(Context p, time::Time d) : cancelCtx(std::move(p)), deadline(d) {}
  bool ownDeadline(time::Time* d) override {
    *d = deadline;
    return true;
  }
  std::string String() override {
    return parent.String() + ".WithDeadline(" + deadline.String() + " [" + time::Until(deadline).String() + "])";
  }
  time::Time deadline;
  time::Timer timer;  // mu

 private:
  void canceled() override {
    gort::internal::lockGuard g(&mu);
    if (timer) timer.Stop();
  }
};

struct valueCtx final : derivedCtx {
  valueCtx(Context p, Key k, std::any v) : derivedCtx(std::move(p)), key(k), val(std::move(v)) {}
  bool ownValue(Key k, std::any* out) override {
    if (k != key) return false;
    *out = val;
    return true;
  }
  // Go's: the key's type and the value if it is a string or a Stringer.
  // Every gort key has one type, the address-valued context.Key.
  std::string String() override { return parent.String() + ".WithValue(type context.Key, val " + stringify() + ")"; }
  Key key;
  std::any val;

 private:
  std::string stringify() const {
    if (!val.has_value()) return "<nil>";
    if (auto* s = std::any_cast<std::string>(&val)) return *s;
    if (auto* s = std::any_cast<const char*>(&val)) return *s;
    if (auto* s = std::any_cast<std::string_view>(&val)) return std::string(*s);
    if (auto* c = std::any_cast<Context>(&val)) return c->String();
    if (auto* d = std::any_cast<time::Duration>(&val)) return d->String();
    if (auto* t = std::any_cast<time::Time>(&val)) return t->String();
    return "<not Stringer>";
  }
};

CancelFunc cancelFunc(const std::shared_ptr<cancelCtx>& c) {
  return [c] { c->cancel(true, Canceled); };
}

}  // namespace internal

recv_only<Signal> Context::Done() const {
  internal::cancelCtx* c = internal::nearestCancel(impl_.get());
  return c ? c->Done() : nullptr;
}
error Context::Err() const {
  internal::cancelCtx* c = internal::nearestCancel(impl_.get());
  return c ? c->Err() : error();
}
std::pair<time::Time, bool> Context::Deadline() const {
  time::Time d;
  for (internal::ctxImpl* c = impl_.get(); c; c = c->parentImpl()) {
    if (c->ownDeadline(&d)) return {d, true};
  }
  return {time::Time(), false};
}
std::any Context::Value(Key key) const {
  std::any v;
  for (internal::ctxImpl* c = impl_.get(); c; c = c->parentImpl()) {
    if (c->ownValue(key, &v)) return v;
  }
  return v;
}
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
