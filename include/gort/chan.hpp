// chan.hpp: Go's channels.
//
//   auto ch = gort::make_chan<int>(10);   // make(chan int, 10)
//   ch.send(1);                           // ch <- 1
//   int v = ch.recv();                    // v := <-ch
//   auto [w, ok] = ch.recv2();            // w, ok := <-ch
//   gort::close(ch);                      // close(ch)
//   for (int x : ch) { ... }              // for x := range ch
//
// chan<T> is a reference type, like Go's: copies share one channel, and a
// default-constructed chan<T> is the nil channel (operations block forever,
// close panics). send_only<T> and recv_only<T> are Go's chan<- T and <-chan
// T; a chan<T> converts to either. The element type must be default-
// constructible (a receive from a closed channel yields T{}, Go's zero value)
// and nothrow-move-constructible (elements move under the channel lock).
// Move-only types work; an empty trivial type (Go's struct{}) takes no space.
//
// Panics are C++ exceptions of type gort::runtime::PlainError (a
// runtime::Error, as Go's plainError is a runtime.Error) with Go's
// messages: "send on closed channel", "close of nil channel", "close of
// closed channel", "makechan: size out of range".
#pragma once

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <new>
#include <optional>
#include <stdexcept>
#include <type_traits>
#include <utility>

#include "gort/internal/chan.hpp"
#include "gort/internal/frame.hpp"
#include "gort/runtime_error.hpp"

namespace gort {


template <class T>
class chan;
template <class T>
class send_only;
template <class T>
class recv_only;

namespace internal {

template <class T>
concept ChanElem = std::is_default_constructible_v<T> && std::is_nothrow_move_constructible_v<T> &&
                   std::is_nothrow_destructible_v<T> && std::is_nothrow_default_constructible_v<T> &&
                   sizeof(T) < (1 << 16);  // Go: "channel element type too large (>64kB)"

// Uninitialised storage for one received element; the core constructs it.
template <class T>
struct RecvSlot {
  alignas(T) unsigned char buf[kZeroSizeElem<T> ? 1 : sizeof(T)];
  void* addr() { return kZeroSizeElem<T> ? nullptr : buf; }
  // Takes the element the core constructed (a zero-size one is made here).
  T take() {
    if constexpr (kZeroSizeElem<T>) {
      return T{};
    } else {
      T* p = std::launder(reinterpret_cast<T*>(buf));
      T v(std::move(*p));
      p->~T();
      return v;
    }
  }
};

// The reference-counted handle shared by chan, send_only and recv_only.
template <class T>
class chanref {
 public:
  chanref() = default;
  chanref(const chanref& o) noexcept : c_(o.c_) { chanRetain(c_); }
  chanref(chanref&& o) noexcept : c_(std::exchange(o.c_, nullptr)) {}
  chanref& operator=(const chanref& o) noexcept {
    chanRetain(o.c_);
    chanRelease(std::exchange(c_, o.c_));
    return *this;
  }
  chanref& operator=(chanref&& o) noexcept {
    if (this != &o) chanRelease(std::exchange(c_, std::exchange(o.c_, nullptr)));
    return *this;
  }
  ~chanref() { chanRelease(c_); }

  explicit operator bool() const noexcept { return c_ != nullptr; }  // non-nil
  friend bool operator==(const chanref& a, const chanref& b) noexcept { return a.c_ == b.c_; }
  friend bool operator==(const chanref& a, std::nullptr_t) noexcept { return a.c_ == nullptr; }
  hchan* raw() const noexcept { return c_; }

 protected:
  explicit chanref(hchan* c) noexcept : c_(c) {}
  hchan* c_ = nullptr;
};

// Receive operations (chan<T>, recv_only<T>).
template <class T, class Self>
struct recvOps {
  // <-c: the value, or T{} once the channel is closed and drained.
  T recv() const {
    RecvSlot<T> s;
    chanrecv1(self(), s.addr());
    return s.take();
  }
  // v, ok := <-c
  std::pair<T, bool> recv2() const {
    RecvSlot<T> s;
    bool ok = chanrecv1(self(), s.addr());
    return {s.take(), ok};
  }
  // select { case v, ok := <-c: ...; default: }: nullopt if it would block.
  std::optional<std::pair<T, bool>> try_recv() const {
    RecvSlot<T> s;
    bool ok = false;
    if (!chanrecvnb(self(), s.addr(), &ok)) return std::nullopt;
    return std::pair<T, bool>{s.take(), ok};
  }

  // for v := range c
  struct sentinel {};
  class iterator {
   public:
    using value_type = T;
    using difference_type = std::ptrdiff_t;
    iterator() = default;
    explicit iterator(hchan* c) : c_(c) { ++*this; }
    T&& operator*() { return std::move(v_); }
    iterator& operator++() {
      RecvSlot<T> s;
      ok_ = chanrecv1(c_, s.addr());
      v_ = s.take();
      return *this;
    }
    void operator++(int) { ++*this; }
    friend bool operator==(const iterator& it, sentinel) { return !it.ok_; }

   private:
    hchan* c_ = nullptr;
    T v_{};
    bool ok_ = false;
  };
  iterator begin() const { return iterator(self()); }
  sentinel end() const { return {}; }

 private:
  hchan* self() const { return static_cast<const Self*>(this)->raw(); }
};

// Send operations (chan<T>, send_only<T>).
template <class T, class Self>
struct sendOps {
  // c <- v
  void send(T&& v) const {
    chansend1(self(), &v);
    noTailCall();
  }
  void send(const T& v) const {
    T tmp(v);
    chansend1(self(), &tmp);
  }
  // select { case c <- v: ...; default: }. v is moved from only if sent.
  bool try_send(T&& v) const {
    bool sent = chansendnb(self(), &v);
    noTailCall();
    return sent;
  }
  bool try_send(const T& v) const {
    T tmp(v);
    return chansendnb(self(), &tmp);
  }

 private:
  hchan* self() const { return static_cast<const Self*>(this)->raw(); }
};

}  // namespace internal

// A bidirectional channel of T (Go's chan T).
template <class T>
class chan : public internal::chanref<T>,
             public internal::recvOps<T, chan<T>>,
             public internal::sendOps<T, chan<T>> {
  static_assert(internal::ChanElem<T>,
                "channel elements must be default-constructible, nothrow-movable and smaller than 64 KiB");

 public:
  using value_type = T;
  using internal::recvOps<T, chan<T>>::begin;
  using internal::recvOps<T, chan<T>>::end;
  chan() = default;
  chan(std::nullptr_t) {}  // NOLINT: nil converts implicitly, as in Go

 private:
  template <class U>
  friend chan<U> make_chan(int64_t);
  explicit chan(internal::hchan* c) : internal::chanref<T>(c) {}
};

// Go's chan<- T.
template <class T>
class send_only : public internal::chanref<T>, public internal::sendOps<T, send_only<T>> {
 public:
  using value_type = T;
  send_only() = default;
  send_only(std::nullptr_t) {}  // NOLINT
  send_only(const chan<T>& c) : internal::chanref<T>(c) {}  // NOLINT: as Go's assignability
};

// Go's <-chan T.
template <class T>
class recv_only : public internal::chanref<T>, public internal::recvOps<T, recv_only<T>> {
 public:
  using value_type = T;
  recv_only() = default;
  recv_only(std::nullptr_t) {}  // NOLINT
  recv_only(const chan<T>& c) : internal::chanref<T>(c) {}  // NOLINT
};

// make(chan T, size). Panics "makechan: size out of range" if size < 0.
template <class T>
chan<T> make_chan(int64_t size = 0) {
  internal::hchan* c = internal::makechan(&internal::chanTypeOf<T>, size);
  internal::noTailCall();
  return chan<T>(c);
}

// close(c): panics on a nil or already closed channel. Receivers drain the
// buffer, then get T{} with ok == false; blocked senders panic.
template <class T>
void close(const chan<T>& c) {
  internal::closechan(c.raw());
  internal::noTailCall();
}
template <class T>
void close(const send_only<T>& c) {
  internal::closechan(c.raw());
  internal::noTailCall();
}

// len(c), cap(c); 0 for a nil channel.
template <class T>
int len(const internal::chanref<T>& c) {
  return internal::chanlen(c.raw());
}
template <class T>
int cap(const internal::chanref<T>& c) {
  return internal::chancap(c.raw());
}

}  // namespace gort
