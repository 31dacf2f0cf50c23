// map_group.hpp: matching a Swiss-table group's control word (Go's
// internal/runtime/maps/group.go), 8 slots at a time.
//
// A control byte per slot: 0b0hhhhhhh for a full slot (h: the low 7 bits
// of its key's hash, "H2"), and, with the high bit set, kEmpty (never
// used since the table was made or reset: a probe sequence ends at a group
// holding one), kDeleted (a tombstone: the probe goes on) and kZombie (a
// deletion while a range loop runs: the key and value are still alive for
// the loop and the slot may not be reused; map_swiss.cpp turns it into a
// tombstone once no loop runs). Lookups never match the three (H2 < 0x80).
//
// Two implementations of the same operations: SWAR on a 64-bit word
// (portable: arm64 and any other target) and SSE2 on amd64. A match is a
// bit set over slot positions; SWAR sets bit 8i+7 for slot i, SSE2 bit i,
// and Bits<Shift> hides the difference. The SWAR H2 match may report a
// false positive in a full slot right after a true match (a borrow); the
// caller compares keys anyway. tests/maps/map_test.cpp checks both
// implementations against each other on every control byte pattern class.
#pragma once

#include <cstdint>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace gort::internal::mapgroup {

inline constexpr uint8_t kEmpty = 0x80;
inline constexpr uint8_t kDeleted = 0xFE;
inline constexpr uint8_t kZombie = 0xFF;
inline constexpr uint64_t kAllEmpty = 0x8080808080808080ull;

template <int Shift>
struct Bits {
  uint64_t v;
  bool any() const { return v != 0; }
  uint32_t first() const { return uint32_t(__builtin_ctzll(v)) >> Shift; }
  void dropFirst() { v &= v - 1; }
  Bits operator|(Bits o) const { return {v | o.v}; }
};

namespace swar {

using Set = Bits<3>;
inline constexpr uint64_t kLsb = 0x0101010101010101ull, kMsb = 0x8080808080808080ull;

inline Set matchH2(uint64_t w, uint8_t h2) {
  uint64_t v = w ^ (kLsb * h2);
  return {(v - kLsb) & ~v & kMsb};
}
// Exact: bit 7 set and bit 1 clear is only 0x80 among the control values.
inline Set matchEmpty(uint64_t w) { return {w & ~(w << 6) & kMsb}; }
// Exactly 0xFE: bits 7 and 1 set, bit 0 clear.
inline Set matchDeleted(uint64_t w) { return {w & (w << 6) & ~(w << 7) & kMsb}; }
inline Set matchFull(uint64_t w) { return {~w & kMsb}; }

}  // namespace swar

#if defined(__SSE2__)
namespace sse2 {

using Set = Bits<0>;

inline __m128i load(uint64_t w) { return _mm_cvtsi64_si128(int64_t(w)); }
inline uint64_t eqMask(uint64_t w, uint8_t b) {
  return uint64_t(_mm_movemask_epi8(_mm_cmpeq_epi8(load(w), _mm_set1_epi8(char(b))))) & 0xFF;
}
inline Set matchH2(uint64_t w, uint8_t h2) { return {eqMask(w, h2)}; }
inline Set matchEmpty(uint64_t w) { return {eqMask(w, kEmpty)}; }
inline Set matchDeleted(uint64_t w) { return {eqMask(w, kDeleted)}; }
inline Set matchFull(uint64_t w) { return {~uint64_t(_mm_movemask_epi8(load(w))) & 0xFF}; }

}  // namespace sse2
namespace native = sse2;
#else
namespace native = swar;
#endif

inline uint64_t load(const void* group) {
  uint64_t w;
  std::memcpy(&w, group, 8);
  return w;
}

}  // namespace gort::internal::mapgroup
