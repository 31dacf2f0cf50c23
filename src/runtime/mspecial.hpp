// mspecial.hpp: the special records of heap objects (Go keeps them on
// mheap.go's per-span lists): finalizers, cleanups, weak handles and pin
// counts, shared by mspecial.cpp (the table and the collector's side),
// mfinal.cpp, mcleanup.cpp and pinner.cpp.
#pragma once

#include <cstdint>
#include <mutex>

#include "gort/runtime_final.hpp"
#include "gort/weak.hpp"

namespace gort::internal {

struct mspan;

enum class SpecialKind : uint8_t { finalizer, cleanup, weak, pin };

struct Special {
  Special* next = nullptr;
  SpecialKind kind;
  uintptr_t p = 0;  // the address it was set for (interior for cleanups, tiny objects and weak pointers)
  union {
    FinalizerFn* fin;
    CleanupFn* cleanup;
    WeakHandle* weak;
    uint64_t pins;
  };
  uint64_t id = 0;  // a cleanup's
};

// Guards the table, every Special and the finalizer queue. Taken by a
// goroutine only inside a RuntimeEntry; by the collector, with the world
// stopped, before the mark gate, the roots and the destructors.
extern std::mutex specialsLock;

// The specials of the object at base (list head), or null; with create, a
// new empty list if it had none. specialsLock held.
Special** specialsOf(uintptr_t base, bool create);
// A record from the pool, and back to it. specialsLock held.
Special* newSpecial(SpecialKind kind, uintptr_t p, Special* next);
void freeSpecial(Special* s);
// Drops base's entry if its list is empty. specialsLock held.
void forgetIfEmpty(uintptr_t base);

// Whether p is inside a loaded module's writable segment (Go's linker-
// allocated objects, which SetFinalizer, AddCleanup and Pin accept and
// ignore).
bool globalPointer(const void* p);

// The finalizer queue (mfinal.cpp), specialsLock held: what the collector
// found to run, and the roots it implies.
void queueFinalizer(FinalizerFn* fn, uintptr_t p);
void queueCleanup(CleanupFn* fn, uintptr_t hold);  // hold: kept (not scanned) until it has run; 0: none
void markFinalizerQueue();                         // greyRoots, through gcShade and gcMarkHeld
void startFinalizerGoroutine();
bool hasDestructor(mspan* s, uintptr_t i);  // the destructor lock held

}  // namespace gort::internal
