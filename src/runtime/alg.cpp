// alg.cpp: hashing of map keys (mirrors runtime/alg.go): the portable
// family, the choice between it and the AES back end (alg_<arch>.cpp), and
// the entry points map templates name in their key descriptors. alg.hpp
// says why two families and how the seed enters.
//
// Floats follow Go: +0 and -0 are equal keys, so both hash as +0; NaN is
// unequal to everything, itself included, so it hashes to a random value
// (each NaN insert adds an entry that no lookup finds, and a random hash
// keeps a million NaNs from piling up in one probe sequence).
#include "runtime/alg.hpp"

#include <sys/random.h>

#include <mutex>
#include <string>

#include "gort/internal/map.hpp"
#include "runtime/arch.hpp"
#include "runtime/proc.hpp"

namespace gort::internal {

bool useAeshash = false;

void algInit() {
  static std::once_flag once;
  std::call_once(once, [] {
    uint64_t key[8];
    size_t got = 0;
    while (got < sizeof key) {
      ssize_t r = getrandom(reinterpret_cast<char*>(key) + got, sizeof key - got, 0);
      if (r <= 0) break;
      got += size_t(r);
    }
    // No entropy (a sandbox without getrandom): the clock still differs
    // from run to run.
    for (size_t i = got / 8; i < 8; i++) key[i] = wy::hash64(cputicks() + i, wy::kP0);
    if (aeshashSupported()) {
      aeshashInit(key);
      useAeshash = true;
    }
  });
}

namespace wy {

uint64_t hashBytes(const void* data, size_t n, uint64_t seed) {
  const uint8_t* p = static_cast<const uint8_t*>(data);
  seed ^= mix(seed ^ kP0, kP1);
  uint64_t a, b;
  if (n <= 16) {
    if (n >= 4) {
      a = (read32(p) << 32) | read32(p + ((n >> 3) << 2));
      b = (read32(p + n - 4) << 32) | read32(p + n - 4 - ((n >> 3) << 2));
    } else if (n > 0) {
      a = (uint64_t(p[0]) << 16) | (uint64_t(p[n >> 1]) << 8) | p[n - 1];
      b = 0;
    } else {
      a = b = 0;
    }
  } else {
    size_t i = n;
    if (i > 48) {
      uint64_t s1 = seed, s2 = seed;
      do {
        seed = mix(read64(p) ^ kP1, read64(p + 8) ^ seed);
        s1 = mix(read64(p + 16) ^ kP2, read64(p + 24) ^ s1);
        s2 = mix(read64(p + 32) ^ kP3, read64(p + 40) ^ s2);
        p += 48;
        i -= 48;
      } while (i > 48);
      seed ^= s1 ^ s2;
    }
    while (i > 16) {
      seed = mix(read64(p) ^ kP1, read64(p + 8) ^ seed);
      i -= 16;
      p += 16;
    }
    a = read64(p + i - 16);
    b = read64(p + i - 8);
  }
  a ^= kP1;
  b ^= seed;
  unsigned __int128 r = static_cast<unsigned __int128>(a) * b;
  return mix(uint64_t(r) ^ kP0 ^ n, uint64_t(r >> 64) ^ kP1);
}

}  // namespace wy

uint64_t memhash32(const void* p, uint64_t seed) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return hash32(v, seed);
}

uint64_t memhash64(const void* p, uint64_t seed) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return hash64(v, seed);
}

uint64_t memhash(const void* p, uint64_t seed, size_t n) { return hashBytes(p, n, seed); }

uint64_t strhash(const void* s, uint64_t seed) {
  const std::string& str = *static_cast<const std::string*>(s);
  return hashBytes(str.data(), str.size(), seed);
}

namespace {

template <class F, class Bits>
uint64_t floatHash(const void* p, uint64_t seed) {
  F f;
  std::memcpy(&f, p, sizeof f);
  if (f == 0) return hash64(0, seed);
  if (f != f) return hash64(uint64_t(fastrand()) << 32 | fastrand(), seed);
  Bits b;
  std::memcpy(&b, p, sizeof b);
  return hash64(b, seed);
}

}  // namespace

uint64_t f32hash(const void* p, uint64_t seed) { return floatHash<float, uint32_t>(p, seed); }
uint64_t f64hash(const void* p, uint64_t seed) { return floatHash<double, uint64_t>(p, seed); }

}  // namespace gort::internal
