// map.hpp: Go's map type.
//
//   auto m = gort::make_map<std::string, int>();   // make(map[string]int)
//   m.set("a", 1);                                 // m["a"] = 1
//   int v = m.get("a");                            // v := m["a"] (0 if absent)
//   auto [w, ok] = m.get2("b");                    // w, ok := m["b"]
//   gort::delete_(m, "a");                         // delete(m, "a")
//   int64_t n = gort::len(m);                      // len(m)
//   gort::clear(m);                                // clear(m)
//   for (auto [k, v] : m) { ... }                  // for k, v := range m
//
// A map is a reference: copying a gort::map copies the handle, and both
// name one map. The default-constructed map is nil, as Go's zero map:
// reads find nothing (get gives V{}), len is 0, range produces nothing,
// delete and clear do nothing, and set panics with Go's run-time error
// "assignment to entry in nil map" (a gort::runtime::PlainError).
//
// Keys: integers, enums, floats and doubles (Go's float rules: NaN is
// unequal to every key, itself included, so each NaN set adds an entry
// that get never finds; +0 and -0 are one key), raw pointers and
// gort::Ptr<T>, std::string (looked up, deleted and set from a
// std::string_view or a const char* without making a std::string), and
// any copyable type with == and a std::hash specialisation. Another key
// type does not compile (the MapKey concept). Keys and values must be
// copy constructible and aligned to at most 8 bytes.
//
// Range loops follow Go: the order is unspecified and differs from one
// loop to the next (each starts at a random place); an entry deleted
// before the loop reaches it is not produced; an entry added during the
// loop may or may not be; none is produced twice, however the map grows or
// shrinks meanwhile. k and v are references to the entry, which stay valid
// for the whole body whatever the body does to the map (the map defers
// destroying or moving entries while a loop runs); a set of the current
// key in the body changes what v reads, where Go's v is a copy.
//
// As in Go, a map is not safe for concurrent use with a writer: any number
// of goroutines may read one at once, but a write concurrent with a read,
// a range loop or another write is a fatal error ("concurrent map writes",
// "concurrent map read and map write"), detected on a best-effort basis.
//
// The map lives on gort's heap (src/runtime/malloc.cpp) as a Swiss table:
// src/runtime/map_swiss.cpp describes its layout, growth and iteration. The
// collector traces it like a Ptr: a handle anywhere (a heap object's field,
// a stack, a global) keeps the map and its Ptr keys and values alive, and
// an unreachable map's memory is reclaimed, its keys' and values'
// destructors run on the collector's destructor thread (new.hpp's rules).
#pragma once

#include <concepts>
#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "gort/internal/map.hpp"
#include "gort/internal/type.hpp"
#include "gort/new.hpp"

namespace gort {

namespace internal {

template <class T>
inline constexpr bool kIsPtr = false;
template <class T>
inline constexpr bool kIsPtr<Ptr<T>> = true;

// Keys whose equality is their bytes' and whose size a fast path covers.
template <class K>
inline constexpr bool kBitwiseKey = std::is_integral_v<K> || std::is_enum_v<K> || std::is_pointer_v<K>;

template <class K>
consteval MapKeyKind mapKeyKind() {
  if constexpr (std::is_same_v<K, std::string>) {
    return MapKeyKind::faststr;
  } else if constexpr (kBitwiseKey<K> && sizeof(K) == 8) {
    return MapKeyKind::fast64;
  } else if constexpr (kBitwiseKey<K> && sizeof(K) == 4) {
    return MapKeyKind::fast32;
  } else {
    return MapKeyKind::generic;
  }
}

template <class K>
uint64_t widenedHash(const void* p, uint64_t seed) {
  uint64_t v;
  if constexpr (std::is_enum_v<K>) {
    v = uint64_t(std::make_unsigned_t<std::underlying_type_t<K>>(*static_cast<const K*>(p)));
  } else {
    v = uint64_t(std::make_unsigned_t<K>(*static_cast<const K*>(p)));
  }
  return memhash64(&v, seed);
}

template <class K>
uint64_t ptrHash(const void* p, uint64_t seed) {
  auto v = reinterpret_cast<uintptr_t>(static_cast<const K*>(p)->get());
  return memhash64(&v, seed);
}

// A user type's std::hash, seeded by mixing it through the runtime's hash.
template <class K>
uint64_t userHash(const void* p, uint64_t seed) {
  uint64_t v = std::hash<K>{}(*static_cast<const K*>(p));
  return memhash64(&v, seed);
}

template <class K>
consteval auto mapHashOf() {
  constexpr MapKeyKind kind = mapKeyKind<K>();
  if constexpr (kind == MapKeyKind::faststr) {
    return &strhash;
  } else if constexpr (kind == MapKeyKind::fast64) {
    return &memhash64;
  } else if constexpr (kind == MapKeyKind::fast32) {
    return &memhash32;
  } else if constexpr (std::is_same_v<K, float>) {
    return &f32hash;
  } else if constexpr (std::is_same_v<K, double>) {
    return &f64hash;
  } else if constexpr (kBitwiseKey<K> && !std::is_pointer_v<K>) {
    return &widenedHash<K>;
  } else if constexpr (kIsPtr<K>) {
    return &ptrHash<K>;
  } else {
    return &userHash<K>;
  }
}

template <size_t N>
bool bitwiseEqual(const void* a, const void* b) {
  return std::memcmp(a, b, N) == 0;
}

template <class K>
concept HashableKeyType = std::is_same_v<K, std::string> || std::is_same_v<K, float> || std::is_same_v<K, double> ||
                          kBitwiseKey<K> || kIsPtr<K> || Hashable<K>;

constexpr uint32_t alignUp(uint32_t n, uint32_t a) { return (n + a - 1) / a * a; }

template <class K, class V>
struct MapTypeFor {
  static constexpr const Type& key = typeOf<K>;
  static constexpr const Type& elem = typeOf<V>;
  static constexpr uint32_t align = alignof(K) > alignof(V) ? alignof(K) : alignof(V);
  static constexpr uint32_t elemOff = elem.size ? alignUp(key.size, alignof(V)) : key.size;
  static constexpr uint32_t slotSize = alignUp(elemOff + elem.size, align);
  static constexpr uint32_t groupSize = alignUp(8 + 8 * slotSize, 8);
  static constexpr bool mayHoldPointers = key.mayHoldPointers() || elem.mayHoldPointers();
  // Run by the collector's destructor thread on each group of a dead
  // groups array (map_swiss.cpp, "Destructors"): the entries still alive.
  static void destroyGroup(void* g) noexcept {
    auto* ctrl = static_cast<const uint8_t*>(g);
    for (uint32_t i = 0; i < 8; i++) {
      if (ctrl[i] >= 0x80 && ctrl[i] != kMapZombie) continue;
      char* slot = static_cast<char*>(g) + 8 + i * slotSize;
      if constexpr (!trivially_collected<K>) reinterpret_cast<K*>(slot)->~K();
      if constexpr (!trivially_collected<V> && !kZeroSize<V>) reinterpret_cast<V*>(slot + elemOff)->~V();
    }
  }
  static constexpr bool needsDestroy = !trivially_collected<K> || !trivially_collected<V>;
  static constexpr Type group{groupSize,      8,       mayHoldPointers ? Type::kMayHoldPointers : 0u,
                              nullptr,        nullptr, needsDestroy ? &destroyGroup : nullptr,
                              nullptr,        nullptr, nullptr,
                              &typeid(MapTypeFor)};
  static constexpr MapKeyKind kind = mapKeyKind<K>();
  static constexpr MapType value{
      &key,
      &elem,
      mapHashOf<K>(),
      kind == MapKeyKind::fast32 || kind == MapKeyKind::fast64 ? &bitwiseEqual<sizeof(K)> : key.equal,
      elemOff,
      slotSize,
      groupSize,
      kind,
      !std::is_trivially_copyable_v<K> || !std::is_trivially_copyable_v<V>,
      &group};
};

template <class K>
inline K zeroSizeValue{};

// The entry points of each key kind.
template <auto Access, auto Assign, auto Remove>
struct MapOpsOf {
  static constexpr auto access = Access;
  static constexpr auto assign = Assign;
  static constexpr auto remove = Remove;
};
template <MapKeyKind K>
using MapOps = std::conditional_t<
    K == MapKeyKind::faststr, MapOpsOf<&mapaccess_faststr, &mapassign_faststr, &mapdelete_faststr>,
    std::conditional_t<K == MapKeyKind::fast64, MapOpsOf<&mapaccess_fast64, &mapassign_fast64, &mapdelete_fast64>,
                       std::conditional_t<K == MapKeyKind::fast32,
                                          MapOpsOf<&mapaccess_fast32, &mapassign_fast32, &mapdelete_fast32>,
                                          MapOpsOf<&mapaccess, &mapassign, &mapdelete>>>>;

}  // namespace internal

// What a map key may be (see the top of this file).
template <class K>
concept MapKey = std::copy_constructible<K> && internal::EqualityComparable<K> && internal::HashableKeyType<K> &&
                 (alignof(K) <= 8);

template <MapKey K, class V>
class map;
// make(map[K]V, hint): room for hint entries without growing.
template <MapKey K, class V>
map<K, V> make_map(int64_t hint = 0);

template <MapKey K, class V>
class map {
  static_assert(std::is_copy_constructible_v<V> && std::is_default_constructible_v<V>,
                "map<K, V>: V must be copy and default constructible");
  static_assert(alignof(V) <= 8, "map<K, V>: V is aligned to more than 8 bytes");
  using Desc = internal::MapTypeFor<K, V>;
  static constexpr const internal::MapType* kType = &Desc::value;
  static constexpr internal::MapKeyKind kKind = Desc::kind;

 public:
  // What lookups take: a std::string key is looked up by std::string_view.
  using key_arg = std::conditional_t<std::is_same_v<K, std::string>, std::string_view, K>;

  map() = default;
  map(std::nullptr_t) {}

  bool isNil() const noexcept { return m_.get() == nullptr; }
  bool operator==(std::nullptr_t) const noexcept { return m_.get() == nullptr; }
  // Whether both handles name the same map (Go compares maps only to nil).
  bool same(const map& o) const noexcept { return m_.get() == o.m_.get(); }

  V get(const key_arg& k) const {
    const void* e = access(k);
    return e ? *static_cast<const V*>(e) : V{};
  }
  std::pair<V, bool> get2(const key_arg& k) const {
    const void* e = access(k);
    return e ? std::pair<V, bool>(*static_cast<const V*>(e), true) : std::pair<V, bool>(V{}, false);
  }
  bool contains(const key_arg& k) const { return access(k) != nullptr; }

  template <class U = V>
    requires std::is_assignable_v<V&, U&&>
  void set(const key_arg& k, U&& v) {
    void* e = assign(k);
    if constexpr (!internal::kZeroSize<V>) *static_cast<V*>(e) = std::forward<U>(v);
  }

  // The range loop's iterator; not copyable (it holds the loop's place in
  // the map's count of running loops).
  class iterator {
   public:
    explicit iterator(internal::Map* m) { internal::mapiterinit(kType, m, &it_); }
    iterator(const iterator&) = delete;
    iterator& operator=(const iterator&) = delete;
    ~iterator() {
      if (it_.live) internal::mapiterclose(&it_);
    }
    std::pair<const K&, V&> operator*() const {
      if constexpr (internal::kZeroSize<V>) {
        return {*static_cast<const K*>(it_.key), internal::zeroSizeValue<V>};
      } else {
        return {*static_cast<const K*>(it_.key), *static_cast<V*>(it_.elem)};
      }
    }
    iterator& operator++() {
      internal::mapiternext(&it_);
      return *this;
    }
    struct sentinel {};
    bool operator!=(sentinel) const noexcept { return it_.key != nullptr; }
    bool operator==(sentinel) const noexcept { return it_.key == nullptr; }

   private:
    internal::MapIter it_;
  };
  iterator begin() const { return iterator(m_); }
  typename iterator::sentinel end() const { return {}; }

 private:
  template <MapKey K2, class V2>
  friend map<K2, V2> make_map(int64_t hint);
  template <MapKey K2, class V2>
  friend int64_t len(const map<K2, V2>& m) noexcept;
  template <MapKey K2, class V2>
  friend void delete_(const map<K2, V2>& m, const typename map<K2, V2>::key_arg& k);
  template <MapKey K2, class V2>
  friend void clear(const map<K2, V2>& m);
  template <MapKey K2, class V2>
  friend internal::MapShape mapShape(const map<K2, V2>& m);

  explicit map(internal::Map* m) : m_(m) {}

  // The key as its kind's entry points take it.
  static auto lower(const key_arg& k) {
    if constexpr (kKind == internal::MapKeyKind::faststr) {
      return std::string_view(k);
    } else if constexpr (kKind == internal::MapKeyKind::fast64 || kKind == internal::MapKeyKind::fast32) {
      using U = std::conditional_t<kKind == internal::MapKeyKind::fast64, uint64_t, uint32_t>;
      U v;
      std::memcpy(&v, &k, sizeof v);
      return v;
    } else {
      return static_cast<const void*>(&k);
    }
  }
  using Ops = internal::MapOps<kKind>;
  void* access(const key_arg& k) const { return Ops::access(kType, m_, lower(k)); }
  void* assign(const key_arg& k) const { return Ops::assign(kType, m_, lower(k)); }
  void remove(const key_arg& k) const { Ops::remove(kType, m_, lower(k)); }

  internal::GcRef<internal::Map> m_;  // traced: a handle anywhere keeps the map alive
};

// A map handle's destructor releases nothing on the heap.
template <MapKey K, class V>
inline constexpr bool trivially_collected<map<K, V>> = true;

template <MapKey K, class V>
map<K, V> make_map(int64_t hint) {
  map<K, V> r;
  internal::makemap(map<K, V>::kType, hint, r.m_);
  return r;
}

template <MapKey K, class V>
int64_t len(const map<K, V>& m) noexcept {
  return m.m_ ? int64_t(reinterpret_cast<const internal::MapHeader*>(m.m_.get())->used) : 0;
}

template <MapKey K, class V>
void delete_(const map<K, V>& m, const typename map<K, V>::key_arg& k) {
  m.remove(k);
}

template <MapKey K, class V>
void clear(const map<K, V>& m) {
  internal::mapclear(map<K, V>::kType, m.m_);
}

// The map's tables and capacity (tests, debugging).
template <MapKey K, class V>
internal::MapShape mapShape(const map<K, V>& m) {
  return internal::mapshape(m.m_);
}

}  // namespace gort
