// alg_arm64.cpp: the AES back end of alg.hpp on arm64 (the ARMv8 crypto
// extension), compiled for it with a target attribute and used only when
// the kernel reports HWCAP_AES (alg.cpp's algInit).
//
// AESE xors the round key in before SubBytes/ShiftRows and AESMC is
// MixColumns, so AESE(k) then AESMC is x86's AESENC with the key moved to
// the front: the same construction as alg_amd64.cpp (state: seed and
// length xored with the first key; each 16 bytes xored in before a keyed
// round; two more rounds finish; both halves folded), not the same values.
#include <arm_neon.h>
#include <asm/hwcap.h>
#include <sys/auxv.h>

#include <cstring>

#include "runtime/alg.hpp"

namespace gort::internal {

namespace {
alignas(16) uint64_t keysched[8];
}

bool aeshashSupported() { return (getauxval(AT_HWCAP) & HWCAP_AES) != 0; }

void aeshashInit(const uint64_t key[8]) { std::memcpy(keysched, key, sizeof keysched); }

namespace {

[[gnu::target("+crypto")]] inline uint8x16_t key(int i) {
  return vreinterpretq_u8_u64(vld1q_u64(keysched + 2 * i));
}

[[gnu::target("+crypto")]] inline uint8x16_t round(uint8x16_t h, uint8x16_t k) { return vaesmcq_u8(vaeseq_u8(h, k)); }

[[gnu::target("+crypto")]] inline uint64_t fold(uint8x16_t h) {
  uint64x2_t w = vreinterpretq_u64_u8(h);
  return vgetq_lane_u64(w, 0) ^ vgetq_lane_u64(w, 1);
}

[[gnu::target("+crypto")]] inline uint8x16_t state(uint64_t lo, uint64_t hi) {
  uint64_t w[2] = {lo, hi};
  return vreinterpretq_u8_u64(vld1q_u64(w));
}

[[gnu::target("+crypto")]] inline uint8x16_t load(const void* p) {
  return vld1q_u8(static_cast<const uint8_t*>(p));
}

}  // namespace

[[gnu::target("+crypto")]] uint64_t aeshash64(uint64_t v, uint64_t seed) {
  uint8x16_t h = round(state(seed, v), key(0));
  h = round(h, key(1));
  return fold(veorq_u8(h, key(2)));
}

[[gnu::target("+crypto")]] uint64_t aeshash32(uint32_t v, uint64_t seed) { return aeshash64(v, seed); }

[[gnu::target("+crypto")]] uint64_t aeshashBytes(const void* data, size_t n, uint64_t seed) {
  const uint8_t* p = static_cast<const uint8_t*>(data);
  uint8x16_t h = veorq_u8(state(seed, n), key(0));
  if (n < 16) {
    // Copied, not loaded past the end (another object's bytes, or unmapped).
    alignas(16) uint8_t buf[16] = {};
    std::memcpy(buf, p, n);
    h = round(veorq_u8(h, load(buf)), key(1));
  } else {
    size_t i = 0;
    for (; i + 16 < n; i += 16) h = round(veorq_u8(h, load(p + i)), key(1));
    h = round(veorq_u8(h, load(p + n - 16)), key(2));
  }
  h = round(h, key(3));
  h = round(h, key(1));
  return fold(h);
}

}  // namespace gort::internal
