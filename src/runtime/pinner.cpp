// pinner.cpp: runtime.Pinner (Go 1.21's runtime/pinner.go).
//
// A pin is a counted special record on the object (mspecial.cpp): while the
// count is above zero the snapshot marks and scans the object as a root, so
// a raw pointer to it held by foreign code stays valid (gort's collector
// does not move objects; pinning is about liveness only). A pin taken while
// marking shades the object, since the snapshot did not count it. The
// Pinner (runtime_final.hpp) remembers what it pinned and unpins it all.
//
// Locks: specialsLock only.
#include "runtime/mgc.hpp"
#include "runtime/mheap.hpp"
#include "runtime/mspecial.hpp"
#include "runtime/panic.hpp"
#include "runtime/proc.hpp"

namespace gort::internal {

void pinnerPanic(const char* msg) { gort::panic(runtime::Error(std::string("runtime error: ") + msg)); }

bool pin(const void* p) {
  ensureStarted();
  uintptr_t base = findObject(reinterpret_cast<uintptr_t>(p));
  if (base == 0) {
    if (globalPointer(p)) return false;  // nothing to do, as for Go's linker-allocated objects
    pinnerPanic("runtime.Pinner.Pin: argument is not a Go pointer");
  }
  RuntimeEntry entry;
  std::lock_guard<std::mutex> guard(specialsLock);
  Special** head = specialsOf(base, true);
  for (Special* s = *head; s; s = s->next) {
    if (s->kind == SpecialKind::pin) {
      s->pins++;
      return true;
    }
  }
  Special* s = newSpecial(SpecialKind::pin, base, *head);
  s->pins = 1;
  *head = s;
  if (gcMarking.load(std::memory_order_acquire)) gcShade(reinterpret_cast<const void*>(base));
  return true;
}

void unpin(const void* p) {
  RuntimeEntry entry;
  std::lock_guard<std::mutex> guard(specialsLock);
  uintptr_t base = findObject(reinterpret_cast<uintptr_t>(p));
  Special** head = base ? specialsOf(base, false) : nullptr;
  for (Special** pp = head; pp && *pp; pp = &(*pp)->next) {
    Special* s = *pp;
    if (s->kind != SpecialKind::pin) continue;
    if (--s->pins == 0) {
      *pp = s->next;
      freeSpecial(s);
      forgetIfEmpty(base);
    }
    return;
  }
  pinnerPanic("tried to unpin non-pinned pointer");
}

}  // namespace gort::internal
