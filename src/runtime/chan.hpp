// chan.hpp: the channel object shared by chan.cpp and select.cpp (mirrors
// the hchan and waitq types of runtime/chan.go).
#pragma once

#include <atomic>
#include <cstdint>
#include <cstring>

#include "gort/internal/chan.hpp"
#include "runtime/lock_futex.hpp"
#include "runtime/runtime2.hpp"
#include "runtime/sanitizer.hpp"

namespace gort::internal {

// A FIFO of sudogs waiting on one channel direction. Protected by the
// channel's lock; first is also read without it by the non-blocking fast
// paths (a stale answer there is one a racing operation could have given).
struct waitq {
  std::atomic<sudog*> first{nullptr};
  sudog* last = nullptr;

  bool empty(std::memory_order mo = std::memory_order_relaxed) const { return first.load(mo) == nullptr; }
  void enqueue(sudog* sgp);
  // The first sudog whose goroutine can still take this operation: a sudog of
  // a select that another case has already won is dropped on the way (its
  // owner unlinks the rest when it wakes).
  sudog* dequeue() { return empty() ? nullptr : dequeueFirst(); }
  // Unlinks sgp wherever it is (or nothing, if already dequeued).
  void dequeueSudoG(sudog* sgp);

 private:
  sudog* dequeueFirst();
};

struct hchan : chanHeader {
  // Written under lock; read without it by len() and the fast paths.
  std::atomic<uint32_t> qcount{0};  // elements in buf
  std::atomic<uint32_t> closed{0};
  uint32_t dataqsiz = 0;            // capacity (buf holds dataqsiz elements)
  uint32_t elemsize = 0;
  const Type* elemtype = nullptr;
  unsigned char* buf = nullptr;     // ring of dataqsiz slots, allocated with the hchan
  uint32_t sendx = 0;               // lock: next slot to fill
  uint32_t recvx = 0;               // lock: next slot to drain
  waitq recvq;                      // lock: blocked receivers
  waitq sendq;                      // lock: blocked senders
  plainReleaseMutex lock{LockRank::hchan};

  unsigned char* slot(uint32_t i) const { return buf + uintptr_t(i) * elemsize; }
  // The non-blocking operations' lock-free pre-checks (chan.go's full and
  // empty): an unbuffered channel is full unless a receiver waits, empty
  // unless a sender waits.
  bool full() const {
    return dataqsiz == 0 ? recvq.empty() : qcount.load(std::memory_order_relaxed) == dataqsiz;
  }
  // mo: acquire where a later load must not be satisfied before this one
  // (chanrecv's fast path; x86 never reorders loads, arm64 does).
  bool empty(std::memory_order mo = std::memory_order_relaxed) const {
    return dataqsiz == 0 ? sendq.empty(mo) : qcount.load(mo) == 0;
  }
};

// hchan.lock: lock() and unlock() inline (the uncontended pair is most of a
// buffered channel operation's cost). Non-blocking sends also come from
// threads that are no M (os/signal's delivery thread): no count there.
inline void chanLock(hchan* c) {
  if (g* gp = getg()) gp->mp->locks++;
  lockPlainRelease(&c->lock);
}
inline void chanUnlock(hchan* c) {
  unlockPlainRelease(&c->lock);
  if (g* gp = getg()) gp->mp->locks--;
}

// Element moves by the channel's type (typedmemmove and friends). Inline:
// for a trivial element the move is one copy, and the buffered fast paths
// are little more than the lock and this.
inline void elemMove(const hchan* c, void* dst, void* src) {
  if (c->elemsize == 0) return;
  if (c->elemtype->move) {
    c->elemtype->move(dst, src);
  } else if (c->elemsize == 8) {
    std::memcpy(dst, src, 8);
  } else {
    std::memcpy(dst, src, c->elemsize);
  }
}
inline void elemDestroy(const hchan* c, void* p) {
  if (c->elemsize != 0 && c->elemtype->destroy) c->elemtype->destroy(p);
}
void elemZero(const hchan* c, void* dst);

// Go's racenotify: a buffer slot synchronises its filler and its drainer.
// Each acquires the slot before touching it and releases it after (the
// element moves run in the user's instrumented code).
inline void chanBufPut(hchan* c, void* ep) {
  unsigned char* qp = c->slot(c->sendx);
  san::acquire(qp);
  elemMove(c, qp, ep);
  san::release(qp);
  if (++c->sendx == c->dataqsiz) c->sendx = 0;
  c->qcount.store(c->qcount.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
}
inline void chanBufTake(hchan* c, void* ep) {
  unsigned char* qp = c->slot(c->recvx);
  san::acquire(qp);
  elemMove(c, ep, qp);
  elemDestroy(c, qp);
  san::release(qp);
  if (++c->recvx == c->dataqsiz) c->recvx = 0;
  c->qcount.store(c->qcount.load(std::memory_order_relaxed) - 1, std::memory_order_relaxed);
}

// The operations select shares with chanrecv/chansend. unlockf releases
// whatever the caller holds (one channel lock, or all of a select's) before
// the partner goroutine is readied.
void chanSendToWaiter(hchan* c, sudog* sg, void* ep, void (*unlockf)(void*), void* arg);
void chanRecvFromWaiter(hchan* c, sudog* sg, void* ep, void (*unlockf)(void*), void* arg);
[[noreturn]] void chanPanic(const char* msg);
[[noreturn]] void panicSendOnClosed();

// Parking with channel locks held. lock() counts each lock in m.locks and
// mcall insists on a count of zero, so the parking G drops its count
// (parkHolding) and the unlock function, on g0 (or on the partner the parking
// G hands its M to, see goparkHandoff), releases each lock without touching
// the count again (unlockParked).
void parkHolding(int nlocks, bool (*unlockf)(g*, void*), void* arg, waitReason reason);
inline void unlockParked(plainReleaseMutex* l) { unlockPlainRelease(l); }

}  // namespace gort::internal
