// chan.hpp: the channel object shared by chan.cpp and select.cpp (mirrors
// the hchan and waitq types of runtime/chan.go).
#pragma once

#include <atomic>
#include <cstdint>

#include "gort/internal/chan.hpp"
#include "runtime/lock_futex.hpp"
#include "runtime/runtime2.hpp"

namespace gort::internal {

// A FIFO of sudogs waiting on one channel direction. Protected by the
// channel's lock; first is also read without it by the non-blocking fast
// paths (a stale answer there is one a racing operation could have given).
struct waitq {
  std::atomic<sudog*> first{nullptr};
  sudog* last = nullptr;

  bool empty() const { return first.load(std::memory_order_relaxed) == nullptr; }
  void enqueue(sudog* sgp);
  // The first sudog whose goroutine can still take this operation: a sudog of
  // a select that another case has already won is dropped on the way (its
  // owner unlinks the rest when it wakes).
  sudog* dequeue();
  // Unlinks sgp wherever it is (or nothing, if already dequeued).
  void dequeueSudoG(sudog* sgp);
};

struct hchan : chanHeader {
  // Written under lock; read without it by len() and the fast paths.
  std::atomic<uint32_t> qcount{0};  // elements in buf
  std::atomic<uint32_t> closed{0};
  uint32_t dataqsiz = 0;            // capacity (buf holds dataqsiz elements)
  uint32_t elemsize = 0;
  const ChanType* elemtype = nullptr;
  unsigned char* buf = nullptr;     // ring of dataqsiz slots, allocated with the hchan
  uint32_t sendx = 0;               // lock: next slot to fill
  uint32_t recvx = 0;               // lock: next slot to drain
  waitq recvq;                      // lock: blocked receivers
  waitq sendq;                      // lock: blocked senders
  mutex lock;

  unsigned char* slot(uint32_t i) const { return buf + uintptr_t(i) * elemsize; }
  // The non-blocking operations' lock-free pre-checks (chan.go's full and
  // empty): an unbuffered channel is full unless a receiver waits, empty
  // unless a sender waits.
  bool full() const {
    return dataqsiz == 0 ? recvq.empty() : qcount.load(std::memory_order_relaxed) == dataqsiz;
  }
  bool empty() const {
    return dataqsiz == 0 ? sendq.empty() : qcount.load(std::memory_order_relaxed) == 0;
  }
};

// Element moves by the channel's type (typedmemmove and friends).
void elemMove(const hchan* c, void* dst, void* src);
void elemZero(const hchan* c, void* dst);

// The operations select shares with chanrecv/chansend. unlockf releases
// whatever the caller holds (one channel lock, or all of a select's) before
// the partner goroutine is readied.
void chanSendToWaiter(hchan* c, sudog* sg, void* ep, void (*unlockf)(void*), void* arg);
void chanRecvFromWaiter(hchan* c, sudog* sg, void* ep, void (*unlockf)(void*), void* arg);
void chanBufPut(hchan* c, void* ep);
void chanBufTake(hchan* c, void* ep);
[[noreturn]] void chanPanic(const char* msg);
[[noreturn]] void panicSendOnClosed();

// Parking with channel locks held. lock() counts each lock in m.locks and
// mcall insists on a count of zero, so the parking G drops its count
// (parkHolding) and the unlock function, on g0 (or on the partner the parking
// G hands its M to, see goparkHandoff), gives each lock's count back just
// before unlock() takes it away (unlockParked).
void parkHolding(int nlocks, bool (*unlockf)(g*, void*), void* arg, waitReason reason);
inline void unlockParked(mutex* l) {
  getm()->locks++;
  unlock(l);
}

}  // namespace gort::internal
