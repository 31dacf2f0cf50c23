// maps: the life of one map with N keys: insert all, look each up (hits),
// look up N absent keys (misses), iterate, delete all; R times over, a
// fresh map each round. Keys are int64 (a multiplicative scramble of
// 0..N-1) or 16-byte strings. Mirrors anchors/go/maps (same flags, same
// result line). -impl chooses the table: gort (gort::map, the default),
// absl (absl::flat_hash_map), boost (boost::unordered_flat_map) or std
// (std::unordered_map), the baselines BENCHMARKS.md reports beside Go; a
// baseline whose library was absent at build time says so and exits 2.
#include <chrono>
#include <cstdio>
#include <string>
#include <unordered_map>
#include <vector>

#include "gort/map.hpp"
#include "gort/panic.hpp"
#include "gort/runtime.hpp"
#include "flags.hpp"

#if GORT_BENCH_HAVE_ABSL
#include <absl/container/flat_hash_map.h>
#endif
#if GORT_BENCH_HAVE_BOOST
#include <boost/unordered/unordered_flat_map.hpp>
#endif

namespace {

long n = 1000000, rounds = 1;
std::string kind = "int", impl = "gort";

int64_t key(long i) { return int64_t(uint64_t(i) * 0x9E3779B97F4A7C15ull); }

std::string strKey(long i) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "k%015ld", i);
  return buf;
}

// The operations one phase needs, for gort::map and for the C++ tables.
template <class K>
struct GortTable {
  gort::map<K, int64_t> m = gort::make_map<K, int64_t>();
  void set(const K& k, int64_t v) { m.set(k, v); }
  int64_t get(const K& k) const { return m.get(k); }
  bool has(const K& k) const { return m.get2(k).second; }
  void erase(const K& k) { gort::delete_(m, k); }
  size_t size() const { return size_t(gort::len(m)); }
  template <class F>
  void each(F f) const {
    for (auto [k, v] : m) f(k, v);
  }
};

template <class M>
struct StdTable {
  M m;
  using K = typename M::key_type;
  void set(const K& k, int64_t v) { m[k] = v; }
  int64_t get(const K& k) const {
    auto it = m.find(k);
    return it == m.end() ? 0 : it->second;
  }
  bool has(const K& k) const { return m.find(k) != m.end(); }
  void erase(const K& k) { m.erase(k); }
  size_t size() const { return m.size(); }
  template <class F>
  void each(F f) const {
    for (const auto& [k, v] : m) f(k, v);
  }
};

struct Phases {
  double ins = 0, hit = 0, miss = 0, iter = 0, del = 0;
  uint64_t sum = 0;  // wraps, as Go's int64 sum does
};

using Clock = std::chrono::steady_clock;
double nsPer(Clock::time_point start, long count) {
  return double(std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start).count()) / double(count);
}

template <class T, class K, class Key, class Sum>
Phases round(Key keyOf, Sum sumOf) {
  Phases p;
  T m;
  auto t = Clock::now();
  for (long i = 0; i < n; i++) m.set(keyOf(i), i);
  p.ins = nsPer(t, n);
  t = Clock::now();
  for (long i = 0; i < n; i++) p.sum += uint64_t(m.get(keyOf(i)));
  p.hit = nsPer(t, n);
  t = Clock::now();
  for (long i = n; i < 2 * n; i++) {
    if (m.has(keyOf(i))) gort::panic(gort::any(std::string("maps: phantom key")));
  }
  p.miss = nsPer(t, n);
  t = Clock::now();
  m.each([&](const K& k, int64_t v) { p.sum += uint64_t(sumOf(k, v)); });
  p.iter = nsPer(t, n);
  t = Clock::now();
  for (long i = 0; i < n; i++) m.erase(keyOf(i));
  p.del = nsPer(t, n);
  if (m.size() != 0) gort::panic(gort::any(std::string("maps: not empty")));
  return p;
}

template <template <class> class Table>
Phases runOne() {
  if (kind == "int") {
    return round<Table<int64_t>, int64_t>(key, [](int64_t k, int64_t v) { return k ^ v; });
  }
  static std::vector<std::string> keys;
  if (keys.empty()) {
    keys.resize(size_t(2 * n));
    for (long i = 0; i < 2 * n; i++) keys[size_t(i)] = strKey(i);
  }
  return round<Table<std::string>, std::string>([](long i) -> const std::string& { return keys[size_t(i)]; },
                                                [](const std::string& k, int64_t v) { return int64_t(k.size()) + v; });
}

template <class K>
using StdUnordered = StdTable<std::unordered_map<K, int64_t>>;
#if GORT_BENCH_HAVE_ABSL
template <class K>
using Absl = StdTable<absl::flat_hash_map<K, int64_t>>;
#endif
#if GORT_BENCH_HAVE_BOOST
template <class K>
using Boost = StdTable<boost::unordered_flat_map<K, int64_t>>;
#endif

[[noreturn]] void fail(const std::string& why) {
  std::fprintf(stderr, "maps: %s\n", why.c_str());
  std::exit(2);
}

Phases (*chooseImpl())() {
  if (impl == "gort") return runOne<GortTable>;
  if (impl == "std") return runOne<StdUnordered>;
  if (impl == "absl") {
#if GORT_BENCH_HAVE_ABSL
    return runOne<Absl>;
#else
    fail("-impl=absl: built without absl (install libabsl-dev and reconfigure)");
#endif
  }
  if (impl == "boost") {
#if GORT_BENCH_HAVE_BOOST
    return runOne<Boost>;
#else
    fail("-impl=boost: built without boost::unordered_flat_map (install libboost1.81-dev and reconfigure)");
#endif
  }
  fail("-impl must be gort, absl, boost or std");
}

void run() {
  if (kind != "int" && kind != "string") fail("key must be int or string");
  Phases (*body)() = chooseImpl();
  Phases total;
  for (long r = 0; r < rounds; r++) {
    Phases p = body();
    total.ins += p.ins;
    total.hit += p.hit;
    total.miss += p.miss;
    total.iter += p.iter;
    total.del += p.del;
    total.sum += p.sum;
  }
  double k = double(rounds);
  std::printf(
      "maps: n=%ld r=%ld key=%s insert %.1f ns/op hit %.1f ns/op miss %.1f ns/op iter %.1f ns/elem delete %.1f ns/op "
      "(sum %lld)\n",
      n, rounds, kind.c_str(), total.ins / k, total.hit / k, total.miss / k, total.iter / k, total.del / k,
      (long long)int64_t(total.sum));
}

}  // namespace

int main(int argc, char** argv) {
  gortbench::parseFlag(argc, argv, "n", &n);
  gortbench::parseFlag(argc, argv, "r", &rounds);
  gortbench::parseFlag(argc, argv, "key", &kind);
  gortbench::parseFlag(argc, argv, "impl", &impl);
  return gort::Main(argc, argv, run);
}
