// go.hpp: the go statement.
#pragma once

#include <functional>
#include <new>
#include <type_traits>
#include <utility>

#include "gort/internal/proc.hpp"

namespace gort {

// go(f, args...) is Go's `go f(args...)`: f and the arguments are evaluated
// and copied (decayed) in the calling goroutine, then a new goroutine runs
// f(args...). The caller does not wait for it. A goroutine that lets an
// exception escape ends the program as an unrecovered panic.
// Always inlined: the runtime takes the `go` statement's pc (for "created
// by" in tracebacks) from the return address of newprocCommit.
template <class F, class... Args>
[[gnu::always_inline]] inline void go(F&& f, Args&&... args) {
  auto closure = [fn = std::decay_t<F>(std::forward<F>(f)),
                  ... a = std::decay_t<Args>(std::forward<Args>(args))]() mutable {
    std::invoke(std::move(fn), std::move(a)...);
  };
  using C = decltype(closure);
  internal::NewProc np = internal::newprocStart(sizeof(C), alignof(C));
  try {
    ::new (np.storage) C(std::move(closure));
  } catch (...) {
    internal::newprocAbort(np.gp);
    throw;
  }
  internal::newprocCommit(np.gp, &internal::goEntry<C>);
}

}  // namespace gort
