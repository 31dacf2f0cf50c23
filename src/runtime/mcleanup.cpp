// mcleanup.cpp: runtime.AddCleanup and Cleanup.Stop (Go 1.24's
// runtime/mcleanup.go).
//
// A cleanup is a special record on the object its pointer falls in
// (mspecial.cpp), any number per object, each with an id unique in the
// process. It neither resurrects nor orders: the mark termination that
// finds its object unreachable with no finalizer left queues every cleanup
// of it for the finalizer goroutine (mfinal.cpp) and drops the records, so
// Stop after that point finds nothing and does nothing, as in Go. The
// cleanup's function and argument live in malloc memory, so the Ptrs they
// hold are roots: one that reaches the object keeps it alive for good.
//
// Locks: specialsLock only (mspecial.cpp).
#include <atomic>

#include "runtime/mheap.hpp"
#include "runtime/mspecial.hpp"
#include "runtime/proc.hpp"

namespace gort::internal {

namespace {
std::atomic<uint64_t> nextCleanupID{1};
}

uint64_t addCleanup(void* p, CleanupFn* fn) {
  ensureStarted();
  uintptr_t base = findObject(reinterpret_cast<uintptr_t>(p));
  if (base == 0) {
    fn->release();
    if (globalPointer(p)) return 0;
    gort::panic(std::string("runtime.AddCleanup: ptr not in allocated block"));
  }
  startFinalizerGoroutine();
  uint64_t id = nextCleanupID.fetch_add(1, std::memory_order_relaxed);
  RuntimeEntry entry;
  std::lock_guard<std::mutex> guard(specialsLock);
  Special** head = specialsOf(base, true);
  Special* s = newSpecial(SpecialKind::cleanup, reinterpret_cast<uintptr_t>(p), *head);
  s->cleanup = fn;
  s->id = id;
  *head = s;
  return id;
}

void stopCleanup(uintptr_t p, uint64_t id) {
  CleanupFn* fn = nullptr;
  {
    RuntimeEntry entry;
    std::lock_guard<std::mutex> guard(specialsLock);
    // The object may be gone, and its slot reused: the id tells.
    uintptr_t base = findObject(p);
    if (base == 0) return;
    Special** head = specialsOf(base, false);
    if (!head) return;
    for (Special** pp = head; *pp; pp = &(*pp)->next) {
      Special* s = *pp;
      if (s->kind == SpecialKind::cleanup && s->id == id) {
        *pp = s->next;
        fn = s->cleanup;
        freeSpecial(s);
        break;
      }
    }
    forgetIfEmpty(base);
  }
  if (fn) fn->release();  // outside the lock: its Ptrs unregister as roots
}

}  // namespace gort::internal
