// alg_amd64.cpp: the AES back end of alg.hpp on amd64 (AES-NI), compiled
// for the instructions with target attributes and used only when CPUID says
// the CPU has them (alg.cpp's algInit).
//
// VEX-encoded (target avx), not legacy SSE: a legacy SSE instruction that
// runs while the upper halves of the vector registers are dirty (libc's
// AVX string functions leave them so) merges into the old register value,
// which chained every hash to the previous one and took away the overlap
// of independent lookups: 1M-key int lookups ran at twice the time.
//
// State: the seed and the length (or value) in one 128-bit lane, xored
// with the first key; each 16 bytes of input is xored in and followed by a
// keyed round; two more rounds finish. The result folds both halves.
#include <cpuid.h>
#include <immintrin.h>

#include <cstring>

#include "runtime/alg.hpp"

namespace gort::internal {

namespace {
alignas(16) uint64_t keysched[8];
}

bool aeshashSupported() {
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return false;
  return (c & bit_AES) && (c & bit_AVX);
}

void aeshashInit(const uint64_t key[8]) { std::memcpy(keysched, key, sizeof keysched); }

namespace {

[[gnu::target("aes,avx")]] inline __m128i key(int i) {
  return _mm_load_si128(reinterpret_cast<const __m128i*>(keysched) + i);
}

[[gnu::target("aes,avx")]] inline uint64_t fold(__m128i h) {
  return uint64_t(_mm_cvtsi128_si64(h)) ^ uint64_t(_mm_cvtsi128_si64(_mm_unpackhi_epi64(h, h)));
}

}  // namespace

[[gnu::target("aes,avx")]] uint64_t aeshash64(uint64_t v, uint64_t seed) {
  __m128i h = _mm_xor_si128(_mm_set_epi64x(int64_t(v), int64_t(seed)), key(0));
  h = _mm_aesenc_si128(h, key(1));
  h = _mm_aesenc_si128(h, key(2));
  h = _mm_aesenc_si128(h, key(3));
  return fold(h);
}

[[gnu::target("aes,avx")]] uint64_t aeshash32(uint32_t v, uint64_t seed) { return aeshash64(v, seed); }

[[gnu::target("aes,avx")]] uint64_t aeshashBytes(const void* data, size_t n, uint64_t seed) {
  const char* p = static_cast<const char*>(data);
  __m128i h = _mm_xor_si128(_mm_set_epi64x(int64_t(n), int64_t(seed)), key(0));
  if (n < 16) {
    // Copied, not loaded past the end: the bytes after a key may be
    // another object's (or unmapped, or poisoned under ASan).
    alignas(16) char buf[16] = {};
    std::memcpy(buf, p, n);
    h = _mm_aesenc_si128(_mm_xor_si128(h, _mm_load_si128(reinterpret_cast<const __m128i*>(buf))), key(1));
  } else {
    size_t i = 0;
    for (; i + 16 < n; i += 16) {
      h = _mm_aesenc_si128(_mm_xor_si128(h, _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i))), key(1));
    }
    // The last 16 bytes, overlapping the previous block when n is not a
    // multiple of 16 (the length in the state tells the cases apart).
    h = _mm_aesenc_si128(_mm_xor_si128(h, _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + n - 16))), key(2));
  }
  h = _mm_aesenc_si128(h, key(3));
  h = _mm_aesenc_si128(h, key(1));
  return fold(h);
}

}  // namespace gort::internal
