// sema.hpp: the runtime's semaphores and notify lists (runtime/sema.go),
// the sleep/wake-up layer under package sync. See sema.cpp.
#pragma once

#include <atomic>
#include <cstdint>

#include "gort/internal/sync.hpp"
#include "runtime/runtime2.hpp"

namespace gort::internal {

// semacquire waits until *addr > 0 and decrements it, parking the calling
// goroutine (never the thread) while it waits. lifo queues the goroutine at
// the head of addr's waiters (sync.Mutex requeues a woken waiter that lost
// the race there, so it keeps its place). Must run on a goroutine.
// mutexProfile: the wait is for a sync.Mutex/RWMutex (the mutex profile).
void semacquire1(std::atomic<uint32_t>* addr, bool lifo, waitReason reason, bool mutexProfile = false);
inline void semacquire(std::atomic<uint32_t>* addr) { semacquire1(addr, false, waitReason::semacquire); }

// semrelease increments *addr and wakes one waiter if there is one. With
// handoff, the count goes straight to the oldest waiter, which then runs
// in the releaser's place on this P (sync.Mutex's starvation mode).
void semrelease1(std::atomic<uint32_t>* addr, bool handoff);
inline void semrelease(std::atomic<uint32_t>* addr) { semrelease1(addr, false); }

// Notify lists (sync.Cond): Add takes a ticket; Wait parks until that ticket
// is notified (at once if it already was); NotifyOne wakes the oldest
// un-notified ticket, NotifyAll every ticket taken so far.
uint32_t notifyListAdd(notifyList* l);
void notifyListWait(notifyList* l, uint32_t ticket);
void notifyListNotifyOne(notifyList* l);
void notifyListNotifyAll(notifyList* l);

// Active spinning for sync.Mutex (Go's sync_runtime_canSpin/doSpin): the
// i-th spin is worth it only on a multicore machine with GOMAXPROCS > 1, at
// least one other P running (it may be about to unlock), and nothing else
// runnable on our P that the spin would delay.
bool syncCanSpin(int i);
void syncDoSpin();

}  // namespace gort::internal
