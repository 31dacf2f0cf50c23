// internal/proc.hpp: the type-erased core behind gort::go (not public API).
#pragma once

#include <cstddef>

namespace gort::internal {

struct g;

// Thrown by runtime::Goexit to run the goroutine's destructors on the way
// out; caught only by the goroutine's entry. Code that catches (...) must
// rethrow it, as with any exception it does not own.
struct GoexitUnwind {};

// `go f(args)` in three steps, so a template can construct the closure in
// place in the new g without an allocation: start reserves a g and storage
// for the closure, the caller constructs it there, commit makes the g
// runnable (abort releases it if construction threw).
struct NewProc {
  g* gp;
  void* storage;
};
NewProc newprocStart(size_t size, size_t align);
void newprocCommit(g* gp, void (*entry)(void* closure));
void newprocAbort(g* gp);

template <class C>
void goEntry(void* p) {
  C* c = static_cast<C*>(p);
  struct Destroy {
    C* c;
    ~Destroy() { c->~C(); }
  } d{c};
  (*c)();
}

}  // namespace gort::internal
