// sanitizer.hpp: the hooks that keep ASan and TSan correct across goroutine
// switches (NOTES.md §4.7). Every function compiles to nothing in a normal
// build, so callers annotate unconditionally.
//
// TSan: each G is a TSan fiber; switches use the no-sync flag, so a switch
// by itself creates no happens-before edge; the edges come from acquire and
// release at the points the memory model names (runtime locks, park/ready,
// channel operations, sync primitives).
// ASan: each switch is bracketed by start/finish_switch_fiber so ASan knows
// which stack is current and does not report the other as overflowed.
#pragma once

#include <cstddef>
#include <cstdint>

#include <sys/mman.h>

#if defined(GORT_TSAN)
extern "C" {
void* __tsan_get_current_fiber(void);
void* __tsan_create_fiber(unsigned flags);
void __tsan_destroy_fiber(void* fiber);
void __tsan_switch_to_fiber(void* fiber, unsigned flags);
void __tsan_acquire(void* addr);
void __tsan_release(void* addr);
void AnnotateIgnoreWritesBegin(const char* file, int line);
void AnnotateIgnoreWritesEnd(const char* file, int line);
}
#endif
#if defined(GORT_ASAN)
extern "C" {
void __lsan_register_root_region(const void* p, size_t size);
void __lsan_do_leak_check(void);
void __asan_unpoison_memory_region(const volatile void* addr, size_t size);
void __sanitizer_start_switch_fiber(void** fake_stack_save, const void* bottom, size_t size);
void __sanitizer_finish_switch_fiber(void* fake_stack_save, const void** bottom_old, size_t* size_old);
}
#endif

namespace gort::internal::san {

#if defined(GORT_TSAN)
constexpr bool kTSan = true;
inline void acquire(const void* a) { __tsan_acquire(const_cast<void*>(a)); }
inline void release(const void* a) { __tsan_release(const_cast<void*>(a)); }
inline void* currentFiber() { return __tsan_get_current_fiber(); }
inline void* createFiber() { return __tsan_create_fiber(0); }
inline void destroyFiber(void* f) { __tsan_destroy_fiber(f); }
inline void switchToFiber(void* f) { __tsan_switch_to_fiber(f, 1 /* no sync */); }
// A goroutine stack about to be reused: forget the dead goroutine's accesses
// (Go's race runtime frees the stack range). TSan resets the shadow of a
// range mapped while writes are ignored, so we map fresh memory over it.
inline void resetStack(uintptr_t lo, size_t size) {
  AnnotateIgnoreWritesBegin(__FILE__, __LINE__);
  mmap(reinterpret_cast<void*>(lo), size, PROT_READ | PROT_WRITE,
       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0);
  AnnotateIgnoreWritesEnd(__FILE__, __LINE__);
}
#else
constexpr bool kTSan = false;
inline void acquire(const void*) {}
inline void release(const void*) {}
inline void* currentFiber() { return nullptr; }
inline void* createFiber() { return nullptr; }
inline void destroyFiber(void*) {}
inline void switchToFiber(void*) {}
inline void resetStack(uintptr_t, size_t) {}
#endif

#if defined(GORT_ASAN)
constexpr bool kASan = true;
inline void startSwitch(void** save, const void* bottom, size_t size) {
  __sanitizer_start_switch_fiber(save, bottom, size);
}
inline void finishSwitch(void* save) { __sanitizer_finish_switch_fiber(save, nullptr, nullptr); }
// Runtime memory obtained with mmap that holds pointers to heap objects
// (the g slab): LeakSanitizer scans it like a global.
inline void registerRootRegion(const void* p, size_t size) { __lsan_register_root_region(p, size); }
// LeakSanitizer's check, which would otherwise run from atexit; it reports
// leaks and ends the process with its own status if it finds any.
inline void leakCheck() { __lsan_do_leak_check(); }
// A reused goroutine stack still carries the redzones of the frames of the
// goroutine that died on it (it never returned through them).
inline void unpoisonStack(uintptr_t lo, size_t size) {
  __asan_unpoison_memory_region(reinterpret_cast<const void*>(lo), size);
}
#else
constexpr bool kASan = false;
inline void startSwitch(void**, const void*, size_t) {}
inline void finishSwitch(void*) {}
inline void registerRootRegion(const void*, size_t) {}
inline void leakCheck() {}
inline void unpoisonStack(uintptr_t, size_t) {}
#endif

#if defined(GORT_TSAN) || defined(GORT_ASAN)
constexpr bool kAny = true;
#else
constexpr bool kAny = false;
#endif

}  // namespace gort::internal::san
