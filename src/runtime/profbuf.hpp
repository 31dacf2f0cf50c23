// profbuf.hpp: the CPU profiler's sample queue (mirrors runtime/profbuf.go).
//
// Writers are SIGPROF handlers on any thread, the reader one draining thread
// (pprof's profile writer). A writer may not block, allocate or take a lock,
// and several may write at once (Go serialises its handlers with a spin on
// prof.signalLock; here the queue itself is multi-producer), so the queue is
// a bounded ring of fixed-size records with a sequence number per slot
// (Vyukov's bounded queue): a writer claims a slot by CAS on the tail, fills
// it, then publishes it by storing the slot's sequence; the reader takes
// slots in order as their sequence says they are full. A full ring drops
// the sample and counts it (overflow), as Go's profBuf does.
//
// Invariants: slot i holds a record exactly when seq == pos + 1 for the
// position pos that maps to it; only the reader advances head; a record's
// label reference belongs to whoever holds the record (writer, ring, reader).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "runtime/proflabel.hpp"

namespace gort::internal {

constexpr int kProfMaxStack = 64;  // frames a CPU sample keeps (Go: 64)

struct ProfRecord {
  ProfLabels* labels = nullptr;  // a retained reference, or null
  int32_t n = 0;                 // pcs used
  uintptr_t pcs[kProfMaxStack];  // innermost first, as return addresses
};

class ProfBuf {
 public:
  static constexpr size_t kSlots = 1024;  // a power of two

  // Async-signal-safe. False (and the overflow count bumped) when full.
  bool write(const uintptr_t* pcs, int n, ProfLabels* labels);
  // Reader only: the oldest record, moved into *out; false when empty (or
  // the oldest slot is still being written).
  bool read(ProfRecord* out);
  // Samples dropped since the last call.
  uint64_t takeOverflow() { return overflow_.exchange(0, std::memory_order_relaxed); }

 private:
  struct Slot {
    std::atomic<uint64_t> seq;
    ProfRecord rec;
  };
  Slot slots_[kSlots] = {};
  alignas(64) std::atomic<uint64_t> tail_{0};
  alignas(64) uint64_t head_ = 0;  // reader only
  std::atomic<uint64_t> overflow_{0};
  bool initialised_ = false;
  void init();
  friend ProfBuf* cpuProfBuf();
};

// The process's one CPU-profile queue (mapped on first use, never freed: a
// handler may still be writing as a profile stops).
ProfBuf* cpuProfBuf();

}  // namespace gort::internal
