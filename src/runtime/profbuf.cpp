// profbuf.cpp: the CPU profiler's multi-producer sample ring (design in
// profbuf.hpp; mirrors runtime/profbuf.go).
#include "runtime/profbuf.hpp"

#include <sys/mman.h>

#include <mutex>
#include <new>

#include "runtime/panic.hpp"

namespace gort::internal {

void ProfBuf::init() {
  for (size_t i = 0; i < kSlots; i++) slots_[i].seq.store(i, std::memory_order_relaxed);
  initialised_ = true;
}

bool ProfBuf::write(const uintptr_t* pcs, int n, ProfLabels* labels) {
  uint64_t pos = tail_.load(std::memory_order_relaxed);
  Slot* s;
  for (;;) {
    s = &slots_[pos & (kSlots - 1)];
    uint64_t seq = s->seq.load(std::memory_order_acquire);
    auto diff = int64_t(seq - pos);
    if (diff == 0) {
      if (tail_.compare_exchange_weak(pos, pos + 1, std::memory_order_relaxed)) break;
    } else if (diff < 0) {
      overflow_.fetch_add(1, std::memory_order_relaxed);
      return false;
    } else {
      pos = tail_.load(std::memory_order_relaxed);
    }
  }
  if (n > kProfMaxStack) n = kProfMaxStack;
  s->rec.labels = labels;
  s->rec.n = n;
  for (int i = 0; i < n; i++) s->rec.pcs[i] = pcs[i];
  s->seq.store(pos + 1, std::memory_order_release);
  return true;
}

bool ProfBuf::read(ProfRecord* out) {
  Slot* s = &slots_[head_ & (kSlots - 1)];
  if (s->seq.load(std::memory_order_acquire) != head_ + 1) return false;
  out->labels = s->rec.labels;
  out->n = s->rec.n;
  for (int i = 0; i < out->n; i++) out->pcs[i] = s->rec.pcs[i];
  s->seq.store(head_ + kSlots, std::memory_order_release);
  head_++;
  return true;
}

ProfBuf* cpuProfBuf() {
  static ProfBuf* buf = [] {
    void* mem = mmap(nullptr, sizeof(ProfBuf), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED) throw_("runtime: cannot allocate CPU profile buffer");
    auto* b = new (mem) ProfBuf;
    b->init();
    return b;
  }();
  return buf;
}

}  // namespace gort::internal
