// alg.hpp: the hash functions behind map keys (alg.cpp; Go's alg.go). The
// entry points map templates name (memhash32, memhash64, strhash, f32hash,
// f64hash, memhash) are declared in include/gort/internal/map.hpp; this
// header adds what the runtime's own map code inlines.
//
// Two families, chosen once per process by algInit (before the first map
// exists, so every hash a map ever stores comes from one family):
//  - AES (alg_<arch>.cpp): where the CPU has AES instructions, rounds of
//    AESENC keyed by a per-process random schedule. A round diffuses every
//    input bit over its 32-bit column and two rounds over all 128 bits, so
//    a fixed-size key costs two or three rounds: few cycles and no
//    multiplies, and without the key schedule an attacker cannot choose
//    colliding keys.
//  - the portable one (wyhash's construction): 64x64->128-bit multiplies
//    folded by xor, mixing 16 bytes per multiply, as fast as AES for short
//    keys and nearly as strong.
// Either way the map's own random seed enters every hash, so two maps (and
// two runs) order the same keys differently.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace gort::internal {

// Chooses the family; idempotent and cheap after the first call. makemap
// calls it, so nothing hashes a key before it ran.
void algInit();
extern bool useAeshash;  // written once by algInit

// The AES back end (alg_<arch>.cpp): whether this CPU has the
// instructions, the key schedule's initialisation and the three shapes.
bool aeshashSupported();
void aeshashInit(const uint64_t key[8]);
uint64_t aeshash64(uint64_t v, uint64_t seed);
uint64_t aeshash32(uint32_t v, uint64_t seed);
uint64_t aeshashBytes(const void* p, size_t n, uint64_t seed);

namespace wy {

inline constexpr uint64_t kP0 = 0xa0761d6478bd642full, kP1 = 0xe7037ed1a0b428dbull, kP2 = 0x8ebc6af09c88c6e3ull,
                          kP3 = 0x589965cc75374cc3ull;

inline uint64_t mix(uint64_t a, uint64_t b) {
  unsigned __int128 r = static_cast<unsigned __int128>(a) * b;
  return uint64_t(r) ^ uint64_t(r >> 64);
}
inline uint64_t read64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}
inline uint64_t read32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

inline uint64_t hash64(uint64_t v, uint64_t seed) {
  return mix(mix(v ^ kP0, seed ^ kP1) ^ kP2, (v >> 32 | v << 32) ^ seed ^ kP3);
}
uint64_t hashBytes(const void* p, size_t n, uint64_t seed);

}  // namespace wy

inline uint64_t hash64(uint64_t v, uint64_t seed) { return useAeshash ? aeshash64(v, seed) : wy::hash64(v, seed); }
inline uint64_t hash32(uint32_t v, uint64_t seed) { return useAeshash ? aeshash32(v, seed) : wy::hash64(v, seed); }
inline uint64_t hashBytes(const void* p, size_t n, uint64_t seed) {
  return useAeshash ? aeshashBytes(p, n, seed) : wy::hashBytes(p, n, seed);
}

}  // namespace gort::internal
