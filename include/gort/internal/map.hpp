// internal/map.hpp: what gort::map<K, V> (gort/map.hpp) needs from the
// runtime's Swiss-table map (src/runtime/map_swiss.cpp): the descriptor of
// a map type, the type-erased entry points a map operation lowers to (as
// Go's compiler lowers m[k] to mapaccess1, or mapaccess1_fast64 for
// 64-bit keys), the key hash functions (src/runtime/alg.cpp) and the
// iterator's state. Not public API.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "gort/internal/gcptr.hpp"
#include "gort/internal/type.hpp"

namespace gort::internal {

struct Map;
struct Table;

// A pointer into gort's heap that the collector traces (gcptr.hpp): every
// pointer a map keeps to its own memory (handle, directory, tables, groups,
// a loop's place) is one of these, never a raw T*.
template <class T>
class GcRef {
 public:
  constexpr GcRef() noexcept = default;
  GcRef(T* p) noexcept : w_(p) {}  // NOLINT: a drop-in for T*
  GcRef& operator=(T* p) noexcept {
    w_.store(p);
    return *this;
  }
  T* get() const noexcept { return static_cast<T*>(const_cast<void*>(w_.load())); }
  operator T*() const noexcept { return get(); }  // NOLINT
  T* operator->() const noexcept { return get(); }
  T& operator[](uint64_t i) const noexcept { return get()[i]; }

 private:
  PtrWord w_;
};

// Control bytes the destructor of a dead groups array reads (map_group.hpp
// has the full set): a slot is alive when its byte is below 0x80 (full) or
// kMapZombie (deleted while a loop ran, not yet destroyed).
inline constexpr uint8_t kMapZombie = 0xFF;

// Hash functions of key types, each mixing the map's seed in (alg.cpp).
uint64_t memhash32(const void* p, uint64_t seed);
uint64_t memhash64(const void* p, uint64_t seed);
uint64_t memhash(const void* p, uint64_t seed, size_t n);
uint64_t strhash(const void* s, uint64_t seed);  // s: a std::string
uint64_t f32hash(const void* p, uint64_t seed);  // +0 == -0; NaN: random
uint64_t f64hash(const void* p, uint64_t seed);

// Which specialised entry points a key type uses. The generic ones call
// the descriptor's hash and equal; the others know the key's
// representation (bitwise 32- or 64-bit equality, std::string) and inline
// hashing and comparison, as Go's runtime_fast32/fast64/faststr do.
enum class MapKeyKind : uint8_t { generic, fast32, fast64, faststr };

// A map type's descriptor, one constant per map<K, V> (mapTypeOf). A slot
// is the key at offset 0 and the value at elemOff; a group is an 8-byte
// control word and 8 slots.
struct MapType {
  const Type* key;
  const Type* elem;
  uint64_t (*hash)(const void* key, uint64_t seed);
  bool (*equal)(const void* a, const void* b);  // for fast kinds too: stale-table lookups use it
  uint32_t elemOff;
  uint32_t slotSize;
  uint32_t groupSize;
  MapKeyKind kind;
  bool needsCare;         // K or V is not trivially copyable (alive objects must be moved, copied, destroyed)
  const Type* groupType;  // what mallocgc is told about a groups array (scan or noscan); its destroy,
                          // when K or V needs a destructor, ends a dead group's live entries
};

// The leading fields of every map, which len() reads inline.
struct MapHeader {
  uint64_t used;
};

// Makes a map into out, a traced word from the first allocation on.
void makemap(const MapType* t, int64_t hint, GcRef<Map>& out);

// Lookups return the value's slot, or null when the key is absent (or m is
// nil). Assignments return the value's slot for key, inserting the key
// with a zero value if it was absent; they panic on a nil map.
void* mapaccess(const MapType* t, Map* m, const void* key);
void* mapassign(const MapType* t, Map* m, const void* key);
void mapdelete(const MapType* t, Map* m, const void* key);
void* mapaccess_fast32(const MapType* t, Map* m, uint32_t key);
void* mapassign_fast32(const MapType* t, Map* m, uint32_t key);
void mapdelete_fast32(const MapType* t, Map* m, uint32_t key);
void* mapaccess_fast64(const MapType* t, Map* m, uint64_t key);
void* mapassign_fast64(const MapType* t, Map* m, uint64_t key);
void mapdelete_fast64(const MapType* t, Map* m, uint64_t key);
void* mapaccess_faststr(const MapType* t, Map* m, std::string_view key);
void* mapassign_faststr(const MapType* t, Map* m, std::string_view key);
void mapdelete_faststr(const MapType* t, Map* m, std::string_view key);
void mapclear(const MapType* t, Map* m);

// A range loop's position (map_swiss.cpp, "Iteration"). key and elem point
// at the current entry, null at the end. An iterator that did not reach the
// end must be closed: a live iterator keeps the map from moving or
// destroying keys and values (mapiterinit counts it).
struct MapIter {
  const void* key = nullptr;
  void* elem = nullptr;
  const MapType* t = nullptr;
  GcRef<Map> m;
  GcRef<Table> tab;
  unsigned __int128 covered = 0;  // hash space walked, of 2^64
  unsigned __int128 span = 0;     // the part of the hash space tab stands for
  uint64_t cursor = 0;            // where that part starts
  uint64_t clearSeq = 0;
  uint64_t rand = 0;
  uint32_t i = 0;       // slots of tab walked
  uint32_t offset = 0;  // the slot the walk of tab starts at
  bool filter = false;  // tab holds entries outside [cursor, cursor + span)
  bool live = false;    // counted in the map's iterators
};
void mapiterinit(const MapType* t, Map* m, MapIter* it);
void mapiternext(MapIter* it);
void mapiterclose(MapIter* it);

// The shape of a map, for tests and debugging.
struct MapShape {
  uint64_t used;
  uint64_t tables;    // 0 for a map held in one group without a directory
  uint64_t capacity;  // slots over every table (8 for a small map)
  uint32_t globalDepth;
  uint64_t dirLen;
};
MapShape mapshape(const Map* m);

[[noreturn]] void panicNilMapAssign();

}  // namespace gort::internal
