// select.hpp: Go's select statement.
//
//   gort::select(
//       gort::recv(in, [&](int v, bool ok) { ... }),   // case v, ok := <-in:
//       gort::send(out, x, [&] { ... }),               // case out <- x:
//       gort::default_([&] { ... }));                  // default:
//
// The values of send cases are evaluated (moved or copied into the case)
// before the select runs, as in Go; a send case that is not chosen drops its
// value. If several cases can proceed, one is chosen uniformly at random;
// with none ready and no default, the goroutine parks until one can (a case
// on a nil channel never proceeds). With no cases at all, select blocks
// forever. A receive handler may take (T v, bool ok), (T v) or nothing.
// select returns the position (0-based) of the case that ran.
//
// Like Go's compiler, a select with one channel case lowers to a plain send
// or receive, and one with one channel case and a default to a non-blocking
// one; the rest go to the runtime's selectgo with the cases on the stack.
//
// When the set of cases is only known at run time (Go's reflect.Select),
// wrap each case in a gort::select_case and pass a vector or span of them:
//
//   std::vector<gort::select_case> cases;
//   for (auto& in : inputs) cases.emplace_back(gort::recv(in, [&](int v) { sum += v; }));
//   int chosen = gort::select(cases);
//
// A select_case keeps its channel alive; receive cases can serve any number
// of selects, a send case's value is moved out when the case is chosen.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <type_traits>
#include <utility>

#include "gort/chan.hpp"

namespace gort {

namespace internal {

struct noop {
  template <class... A>
  void operator()(A&&...) const {}
};

template <class T, class F>
struct RecvCase {
  static constexpr bool kSend = false, kDefault = false;
  hchan* c;
  F fn;
  RecvSlot<T> slot;

  void* elem() { return slot.addr(); }
  // The core constructed an element in slot (a value, or T{} if closed).
  void run(bool ok) {
    T v = slot.take();
    if constexpr (std::is_invocable_v<F&, T&&, bool>) {
      std::invoke(fn, std::move(v), ok);
    } else if constexpr (std::is_invocable_v<F&, T&&>) {
      std::invoke(fn, std::move(v));
    } else {
      static_assert(std::is_invocable_v<F&>, "receive handler must take (T, bool), (T) or ()");
      std::invoke(fn);
    }
  }
};

template <class T, class F>
struct SendCase {
  static constexpr bool kSend = true, kDefault = false;
  hchan* c;
  T v;
  F fn;

  void* elem() { return kZeroSize<T> ? nullptr : &v; }
  void run(bool) { std::invoke(fn); }
};

template <class F>
struct DefaultCase {
  static constexpr bool kSend = false, kDefault = true;
  F fn;
  void run(bool) { std::invoke(fn); }
};

template <class C>
concept kCase = requires { std::remove_cvref_t<C>::kDefault; };
template <class C>
constexpr bool kComm = !std::remove_cvref_t<C>::kDefault;
template <class C>
constexpr bool kSendCase = std::remove_cvref_t<C>::kSend;

// Where each argument goes in selectgo's case array: sends first, then
// receives, each in argument order; -1 for the default.
template <class... Cases>
constexpr std::array<int, sizeof...(Cases)> selectSlots() {
  constexpr bool comm[] = {kComm<Cases>..., false};
  constexpr bool send[] = {kSendCase<Cases>..., false};
  constexpr int nsends = (int(kSendCase<Cases>) + ... + 0);
  std::array<int, sizeof...(Cases)> slots{};
  int s = 0, r = nsends;
  for (size_t i = 0; i < sizeof...(Cases); i++) slots[i] = !comm[i] ? -1 : send[i] ? s++ : r++;
  return slots;
}

// Runs the argument whose slot is `slot`; returns its position.
template <size_t... I, class... Cases>
int runCase(std::index_sequence<I...>, const std::array<int, sizeof...(Cases)>& slots, int slot, bool ok,
            Cases&... cs) {
  int chosen = -1;
  ((slots[I] == slot ? (cs.run(ok), chosen = int(I)) : 0), ...);
  return chosen;
}

template <size_t... I, class... Cases>
void fillCases(std::index_sequence<I...>, const std::array<int, sizeof...(Cases)>& slots, scase* sc,
               Cases&... cs) {
  auto fill = [&](int slot, auto& cas) {
    if constexpr (kComm<decltype(cas)>) sc[slot] = scase{cas.c, cas.elem()};
  };
  (fill(slots[I], cs), ...);
}

// A select of one channel case, with or without a default: a plain or a
// non-blocking channel operation (Go's walkSelectCases).
template <class Cas>
bool singleCase(Cas& cas, bool block, bool* ok) {
  if constexpr (kSendCase<Cas>) {
    if (block) {
      chansend1(cas.c, cas.elem());
      return true;
    }
    return chansendnb(cas.c, cas.elem());
  } else {
    if (block) {
      *ok = chanrecv1(cas.c, cas.elem());
      return true;
    }
    return chanrecvnb(cas.c, cas.elem(), ok);
  }
}

template <class Cas, class... Rest>
Cas& firstComm(Cas& cas, Rest&... rest) {
  if constexpr (kComm<Cas>) {
    return cas;
  } else {
    return firstComm(rest...);
  }
}

}  // namespace internal

// case v, ok := <-ch (ch: chan<T> or recv_only<T>)
template <class Ch, class F = internal::noop>
auto recv(const Ch& ch, F fn = {}) {
  using T = typename Ch::value_type;
  return internal::RecvCase<T, F>{ch.raw(), std::move(fn), {}};
}

// case ch <- v (ch: chan<T> or send_only<T>)
template <class Ch, class V, class F = internal::noop>
auto send(const Ch& ch, V&& v, F fn = {}) {
  using T = typename Ch::value_type;
  return internal::SendCase<T, F>{ch.raw(), T(std::forward<V>(v)), std::move(fn)};
}

// default:
template <class F = internal::noop>
auto default_(F fn = {}) {
  return internal::DefaultCase<F>{std::move(fn)};
}

template <class... Cases>
  requires(internal::kCase<Cases> && ...)
int select(Cases&&... cs) {
  constexpr int n = int(sizeof...(Cases));
  constexpr int ndefault = (int(!internal::kComm<Cases>) + ... + 0);
  constexpr int nsends = (int(internal::kSendCase<Cases>) + ... + 0);
  constexpr int ncomm = n - ndefault;
  static_assert(ndefault <= 1, "select: multiple defaults");
  constexpr std::array<int, n> slots = internal::selectSlots<Cases...>();
  auto seq = std::make_index_sequence<n>();
  bool ok = false;
  int slot;
  if constexpr (ncomm == 0) {
    if constexpr (ndefault == 0) internal::block();
    slot = -1;
  } else if constexpr (ncomm == 1) {
    slot = internal::singleCase(internal::firstComm(cs...), ndefault == 0, &ok) ? 0 : -1;
  } else {
    internal::scase sc[ncomm];
    uint16_t order[2 * ncomm];
    internal::fillCases(seq, slots, sc, cs...);
    slot = internal::selectgo(sc, order, nsends, ncomm - nsends, ndefault == 0, &ok);
  }
  return internal::runCase(seq, slots, slot, ok, cs...);
}

namespace internal {

// The type-erased form of a case, as the run-time select sees it.
struct DynamicCase {
  virtual ~DynamicCase() = default;
  virtual hchan* chan() const = 0;
  virtual bool isSend() const = 0;
  virtual bool isDefault() const = 0;
  virtual void* elem() = 0;
  virtual void run(bool ok) = 0;
};

template <class Cas>
class DynamicCaseOf final : public DynamicCase {
 public:
  explicit DynamicCaseOf(Cas cas) : cas_(std::move(cas)) {
    if constexpr (kComm<Cas>) chanRetain(cas_.c);
  }
  ~DynamicCaseOf() override {
    if constexpr (kComm<Cas>) chanRelease(cas_.c);
  }
  DynamicCaseOf(const DynamicCaseOf&) = delete;
  DynamicCaseOf& operator=(const DynamicCaseOf&) = delete;
  hchan* chan() const override {
    if constexpr (kComm<Cas>) {
      return cas_.c;
    } else {
      return nullptr;
    }
  }
  bool isSend() const override { return kSendCase<Cas>; }
  bool isDefault() const override { return !kComm<Cas>; }
  void* elem() override {
    if constexpr (kComm<Cas>) {
      return cas_.elem();
    } else {
      return nullptr;
    }
  }
  void run(bool ok) override { cas_.run(ok); }

 private:
  Cas cas_;
};

}  // namespace internal

// One case of a select whose cases are decided at run time: made from
// gort::recv, gort::send or gort::default_.
class select_case {
 public:
  template <class Cas>
    requires internal::kCase<Cas>
  select_case(Cas cas)  // NOLINT(google-explicit-constructor): a case is a case
      : impl_(std::make_unique<internal::DynamicCaseOf<std::remove_cvref_t<Cas>>>(std::move(cas))) {}

  internal::DynamicCase& impl() const { return *impl_; }

 private:
  std::unique_ptr<internal::DynamicCase> impl_;
};

// select over cases known at run time (Go's reflect.Select): the same
// semantics as the statement form; returns the index of the case that ran.
// Panics if two cases are defaults or there are more than 65536 channel
// cases; with no case at all it blocks forever.
int select(std::span<select_case> cases);

}  // namespace gort
