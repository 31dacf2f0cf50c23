// internal/sync.hpp: what the inline parts of gort/sync.hpp need from the
// runtime (not public API): the race-detector hooks and the layout of the
// notify list that sync::Cond embeds.
#pragma once

#include <atomic>
#include <cstdint>

#if defined(GORT_TSAN) || defined(__SANITIZE_THREAD__)
#define GORT_SYNC_RACE 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define GORT_SYNC_RACE 1
#endif
#endif

#if defined(GORT_SYNC_RACE)
extern "C" {
void __tsan_acquire(void* addr);
void __tsan_release(void* addr);
}
#endif

namespace gort::internal {

// race mirrors Go's internal/race: the happens-before edges a sync primitive
// promises, stated explicitly. They must not depend on TSan seeing the
// primitive's atomics: the runtime library is built without instrumentation
// (the slow paths, and any out-of-line copy of an inline fast path the linker
// picks from it, are invisible to TSan). GORT_TSAN covers the library's own
// build, __SANITIZE_THREAD__ a user's TSan build against an installed gort.
// In a normal build both are no-ops.
namespace race {
#if defined(GORT_SYNC_RACE)
inline constexpr bool enabled = true;
inline void acquire(const void* a) { __tsan_acquire(const_cast<void*>(a)); }
inline void release(const void* a) { __tsan_release(const_cast<void*>(a)); }
#else
inline constexpr bool enabled = false;
inline void acquire(const void*) {}
inline void release(const void*) {}
#endif
}  // namespace race

// notifyList is the ticket-based wait list under sync::Cond (runtime/sema.cpp
// implements it; Go keeps the same split between sync.Cond and the
// runtime's notifyList). Waiters take a ticket from `wait` outside the lock;
// `notify` is the next ticket to wake. Both wrap; their difference stays
// below 2^31.
struct notifyList {
  std::atomic<uint32_t> wait{0};
  std::atomic<uint32_t> notify{0};  // written only under lock
  // A runtime mutex (lock_futex.hpp) as this header can spell it: its key
  // and its rank, LockRank::notifyList (sema.cpp checks both).
  struct {
    std::atomic<uint32_t> key{0};
    uint8_t rank = 10;
  } lock;
  struct sudog* head = nullptr;     // parked waiters, in arrival order (lock)
  struct sudog* tail = nullptr;
};

}  // namespace gort::internal
