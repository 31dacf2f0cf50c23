// once.cpp: the slow path of sync::Once (mirrors sync/once.go).
//
// done_ is set only after f returns (or throws), under m_: every goroutine
// that finds it clear waits on m_ for the one running f, so no Do returns
// before f has finished. Setting done_ when f throws is Go's rule: a
// panicking f counts as done (the deferred store in Go's doSlow).
#include "gort/sync.hpp"

#include <mutex>

#include "runtime/sanitizer.hpp"

namespace gort::sync {

void Once::doSlow(void (*call)(void*), void* f) {
  std::lock_guard<Mutex> guard(m_);
  if (done_.load(std::memory_order_relaxed) != 0) return;
  struct MarkDone {
    std::atomic<uint32_t>& done;
    ~MarkDone() {
      internal::san::release(&done);
      done.store(1, std::memory_order_release);
    }
  } mark{done_};
  call(f);
}

}  // namespace gort::sync
