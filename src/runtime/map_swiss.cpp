// map_swiss.cpp: Go's map as a Swiss table (mirrors Go 1.24's
// internal/runtime/maps: map.go, table.go, group.go, iter.go and
// runtime_fast32/fast64/faststr.go). gort::map<K, V> (gort/map.hpp) lowers
// every operation to the entry points here, with a MapType descriptor
// (gort/internal/map.hpp) saying how big a slot is and how to hash,
// compare, copy, move and destroy keys and values.
//
// Layout. A group is an 8-byte control word (map_group.hpp) and 8 slots of
// key then value, stored inline whatever their size: C++ values have
// constructors and destructors, and storing them out of line would cost an
// allocation per entry and a second miss per lookup. A table is a power of
// two of groups, at most kMaxTableCapacity slots, probed quadratically
// (triangular numbers over groups, which visits every group once) from the
// group the hash's high bits ("H1", hash >> 7) name; a group matches the
// low 7 bits ("H2") against 8 control bytes at once. A table fills to 7/8
// of its slots (growthLeft), so every probe sequence meets an empty slot.
// A map of more than 8 entries is a directory of 2^globalDepth entries,
// indexed by the hash's top globalDepth bits, each naming the table that
// holds that part of the hash space; a table of localDepth L holds the
// hashes whose top L bits are its prefix (lo) and fills 2^(G-L) entries in
// a row (extendible hashing). Directory entries carry the table's groups
// and mask themselves, so a lookup loads map, entry, group: no table
// header on the read path. A map of at most 8 entries is one group and no
// directory (small): no probing, and integer keys are compared without
// hashing.
//
// Growth never rehashes the whole map: a full table is rebuilt at twice
// its capacity, or, at the maximum, split into two tables of one more bit
// of depth (doubling the directory first if it is as deep as the table);
// each step moves at most 1024 entries. Further than Go (golang/go#20135),
// deletes give space back the same way: a table that falls to 1/32 of its
// load limit is rebuilt smaller, or merged with its buddy (the table that
// differs in the last bit of the prefix, at the same depth) when the two
// fit in one, and the directory halves when no table is as deep as it.
// Old groups are never freed here: an iterator may still walk them, and
// the collector reclaims them once nothing does ("Memory and the
// collector" below).
//
// Iteration (iter.go's rules, by another route). A range loop walks the
// hash space as a ring, from the start of a random table, one table at a
// time, each from a random slot; its position is the hash-space cursor,
// not a directory index, so directory doubling and halving do not disturb
// it. A table that was replaced while the loop walks it (stale) is walked
// to its end as it was, each key looked up in the map as it is now: a key
// deleted since is skipped, a present one gives its current value, and
// keys added to the replacement are not produced. A table reached next
// may start before the cursor (a merge joined it to a part already
// walked); then only the hashes in the part not yet walked are produced.
// So no entry comes twice, deleted entries not yet reached never come, and
// entries added during the loop may or may not (the spec's rules). clear
// ends every loop running on the map (clearSeq).
//
// While a range loop runs (iterators > 0) the map neither destroys nor
// moves a key or value object, so the references a loop hands out stay
// valid through its body whatever the body does to the map: a delete
// leaves a zombie (map_group.hpp), a rebuild copies instead of moving and
// leaves the old table's objects alive, clear drops every table as it is.
// The first write after the last loop ends destroys the zombies and turns
// them into tombstones. For trivially copyable keys and values (needsCare
// false) none of this costs anything.
//
// Memory and the collector. Header, directory, tables and groups are on
// gort's heap, and every pointer between them, the handle's and a loop's
// (MapIter) is a GcRef (internal/map.hpp): an internal::PtrWord, so the
// precise heap scan follows it, a store runs the write barrier and a handle
// outside the heap is a root. Headers, directories and tables are scan
// objects (kMapMemType); groups are scan objects only when K or V may hold
// a Ptr (not trivially copyable; their copy and move set the slots' pointer
// bits, and memcpy moves only trivially copyable keys and values, which
// hold none). A table that leaves the map is simply dropped: a loop that
// still walks it holds it through MapIter::tab, and the collector frees it
// once nothing does. A table being built is held in a GcRef local until it
// is installed, and the old one is retired before that, while the map
// still reaches it: map operations may run on threads whose stacks are not
// scanned.
//
// Destructors. When K or V is not trivially_collected (std::string), every
// groups array gets a destructor record (internal::addDestructor, one per
// group, MapTypeFor::destroyGroup): once the array is unreachable the
// collector's destructor thread destroys the entries its control bytes
// still call alive (full or zombie). So the map must keep control bytes
// honest: an entry destroyed or moved out is no longer full. retire marks
// every slot of a dropped table empty when its objects were moved out
// (rebuild without a loop) or destroyed (clear); a table dropped while a
// loop runs keeps its copies' originals alive, and they die with it.
// Entries of a map that becomes unreachable die the same way. Ptr keys and
// values are trivially_collected: their groups carry no record.
//
// Concurrency is the user's, as in Go: concurrent reads are fine, a write
// excludes everything else. A write sets `writing` around its work and a
// read or iterator step that sees it set is "fatal error: concurrent map
// read and map write" (or "... iteration and map write"); a writer that
// sees it set, or finds it cleared when done, is "concurrent map writes".
// Best effort, as Go's: relaxed accesses, no fences. The iterator count is
// atomic because concurrent range loops are legal reads.
#include <atomic>
#include <cstddef>
#include <cstring>
#include <new>
#include <string>
#include <string_view>

#include "gort/internal/map.hpp"
#include "gort/new.hpp"
#include "gort/runtime_error.hpp"
#include "runtime/alg.hpp"
#include "runtime/malloc.hpp"
#include "runtime/map_group.hpp"
#include "runtime/panic.hpp"
#include "runtime/proc.hpp"

namespace gort::internal {

namespace group = mapgroup::native;
using mapgroup::kDeleted;
using mapgroup::kEmpty;
using mapgroup::kZombie;

namespace {

constexpr uint32_t kSlots = 8;
constexpr uint32_t kMaxTableCapacity = 1024;
// A table this empty is rebuilt smaller or merged: 1/32 of its load limit.
// Rebuilding reads the whole old table, cold by then in a big map, so the
// fewer steps a draining table takes the better (1/8 cost a 1M-key map's
// deletes 40% more); a table kept at 3% load costs little memory.
constexpr uint32_t kSparseDivisor = 32;

constexpr uint32_t loadLimit(uint32_t capacity) { return capacity * 7 / 8; }

}  // namespace

struct Table {
  GcRef<char> groups;
  uint64_t groupMask;  // groups - 1
  uint64_t lo;         // the hash-space prefix it holds, in the top localDepth bits
  uint32_t capacity;   // slots
  uint32_t used;
  uint32_t growthLeft;  // empty slots that may still be filled
  uint32_t tombstones;
  uint32_t zombies;
  uint8_t localDepth;
  bool small;  // the lone group of a map without directory
  bool stale;  // replaced: no longer reachable from the map
};

struct DirEntry {
  GcRef<char> groups;
  uint64_t groupMask;
  GcRef<Table> tab;
};

struct Map {
  uint64_t used;  // MapHeader
  uint64_t seed;
  GcRef<DirEntry> dir;  // null: small map (small holds it, or nothing yet)
  GcRef<Table> small;
  uint64_t dirMask;      // dirLen - 1
  uint32_t globalDepth;  // dirLen == 1 << globalDepth
  uint32_t globalShift;  // (64 - globalDepth) & 63: hash >> shift & dirMask is the index
  uint64_t tables;
  uint64_t capacity;
  uint64_t clearSeq;
  uint64_t zombies;
  std::atomic<uint32_t> iterators;
  std::atomic<uint8_t> writing;
};
static_assert(offsetof(Map, used) == offsetof(MapHeader, used));
static_assert(kZombie == kMapZombie && kEmpty >= 0x80 && kDeleted >= 0x80);

namespace {

// Map headers, tables and directories hold pointers to other map memory.
constexpr Type kMapMemType{0, 8, Type::kMayHoldPointers, nullptr, nullptr, nullptr, nullptr,
                           nullptr, nullptr, &typeid(Map)};

template <class T>
T* allocZeroed(size_t n = 1) {
  return static_cast<T*>(mallocgc(sizeof(T) * n, &kMapMemType, true));
}

uint64_t newSeed() { return uint64_t(fastrand()) << 32 | fastrand(); }

inline uint8_t h2(uint64_t h) { return uint8_t(h & 0x7f); }
inline uint64_t h1(uint64_t h) { return h >> 7; }

inline char* groupAt(const MapType* t, char* groups, uint64_t i) { return groups + i * t->groupSize; }
inline char* slotAt(const MapType* t, char* g, uint32_t i) { return g + 8 + i * t->slotSize; }
inline void* elemOf(const MapType* t, char* slot) { return slot + t->elemOff; }
inline uint8_t& ctrlAt(char* g, uint32_t i) { return reinterpret_cast<uint8_t*>(g)[i]; }

inline bool isFull(uint8_t c) { return c < 0x80; }

// Quadratic probing over groups: offsets 0, 1, 3, 6, ... from the start,
// which visits every group of a power-of-two table exactly once. The load
// limit keeps an empty slot in every table, so a sequence that visited them
// all found none: only writes racing with each other (or with this read)
// can have filled it, and a wrong answer or an endless loop would follow.
struct Probe {
  uint64_t mask, pos, step = 0;
  Probe(uint64_t hash, uint64_t mask) : mask(mask), pos(h1(hash) & mask) {}
  void next() {
    if (++step > mask) [[unlikely]]
      fatal("concurrent map writes");
    pos = (pos + step) & mask;
  }
};

inline uint64_t dirIndex(const Map* m, uint64_t hash) { return (hash >> m->globalShift) & m->dirMask; }

// The hash space a table of localDepth d stands for: 2^(64-d).
inline unsigned __int128 spanOf(uint8_t depth) { return static_cast<unsigned __int128>(1) << (64 - depth); }

// ---- key policies: how each entry-point family hashes and compares -------------

struct GenericKey {
  using Arg = const void*;
  static constexpr bool kDirectSmall = false;
  static uint64_t hash(const MapType* t, Arg k, uint64_t seed) { return t->hash(k, seed); }
  static bool equal(const MapType* t, const char* slot, Arg k) { return t->equal(slot, k); }
  static void construct(const MapType* t, char* slot, Arg k) {
    if (t->key->copy) {
      t->key->copy(slot, k);
    } else {
      std::memcpy(slot, k, t->key->size);
    }
  }
};

template <class U>
struct FastKey {
  using Arg = U;
  static constexpr bool kDirectSmall = true;
  static uint64_t hash(const MapType*, Arg k, uint64_t seed) {
    if constexpr (sizeof(U) == 8) {
      return hash64(k, seed);
    } else {
      return hash32(k, seed);
    }
  }
  static bool equal(const MapType*, const char* slot, Arg k) {
    U v;
    std::memcpy(&v, slot, sizeof v);
    return v == k;
  }
  static void construct(const MapType*, char* slot, Arg k) { std::memcpy(slot, &k, sizeof k); }
};

struct StrKey {
  using Arg = std::string_view;
  static constexpr bool kDirectSmall = false;
  static uint64_t hash(const MapType*, Arg k, uint64_t seed) { return hashBytes(k.data(), k.size(), seed); }
  static bool equal(const MapType*, const char* slot, Arg k) {
    return std::string_view(*reinterpret_cast<const std::string*>(slot)) == k;
  }
  static void construct(const MapType*, char* slot, Arg k) { ::new (slot) std::string(k); }
};

// ---- the writing flag ------------------------------------------------------------

inline void checkNoWriter(const Map* m) {
  if (m->writing.load(std::memory_order_relaxed)) fatal("concurrent map read and map write");
}

class WriteGuard {
 public:
  explicit WriteGuard(Map* m) : m_(m) {
    if (m->writing.load(std::memory_order_relaxed)) fatal("concurrent map writes");
    m->writing.store(1, std::memory_order_relaxed);
  }
  ~WriteGuard() {
    if (!m_->writing.load(std::memory_order_relaxed)) fatal("concurrent map writes");
    m_->writing.store(0, std::memory_order_relaxed);
  }
  WriteGuard(const WriteGuard&) = delete;
  WriteGuard& operator=(const WriteGuard&) = delete;

 private:
  Map* m_;
};

// ---- objects in slots ---------------------------------------------------------------

void destroyEntry(const MapType* t, char* slot) {
  if (t->key->destroy) t->key->destroy(slot);
  if (t->elem->destroy) t->elem->destroy(elemOf(t, slot));
}

void zeroElem(const MapType* t, char* slot) {
  void* e = elemOf(t, slot);
  if (t->elem->zero) {
    t->elem->zero(e);
  } else {
    std::memset(e, 0, t->elem->size);
  }
}

void relocateOne(const Type* ty, void* dst, void* src, bool keep) {
  if (ty->size == 0) return;
  if (keep) {
    if (ty->copy) {
      ty->copy(dst, src);
    } else {
      std::memcpy(dst, src, ty->size);
    }
    return;
  }
  if (ty->move) {
    ty->move(dst, src);
  } else {
    std::memcpy(dst, src, ty->size);
  }
  if (ty->destroy) ty->destroy(src);
}

// Whether rebuilding now must leave the old objects alive (a loop runs).
bool keepOld(const MapType* t, const Map* m) {
  return t->needsCare && m->iterators.load(std::memory_order_relaxed) != 0;
}

// Every slot of tab whose control byte matches pick, in order.
template <class Pick, class F>
void eachSlot(const MapType* t, Table* tab, Pick pick, F f) {
  for (uint64_t gi = 0; gi <= tab->groupMask; gi++) {
    char* g = groupAt(t, tab->groups, gi);
    for (auto bits = pick(mapgroup::load(g)); bits.any(); bits.dropFirst()) f(g, bits.first());
  }
}

// ---- tables --------------------------------------------------------------------------

// Returned as a traced word: the caller may allocate again before the
// table is installed, and on a thread the scheduler does not run a raw
// local would not keep it.
GcRef<Table> newTable(const MapType* t, Map* m, uint32_t capacity, uint64_t lo, uint8_t depth, bool small = false) {
  GcRef<Table> tab = allocZeroed<Table>();
  uint64_t groups = capacity / kSlots;
  tab->groups = static_cast<char*>(mallocgc(groups * t->groupSize, t->groupType, t->groupType->mayHoldPointers()));
  for (uint64_t gi = 0; gi < groups; gi++) std::memcpy(groupAt(t, tab->groups, gi), &mapgroup::kAllEmpty, 8);
  if (t->groupType->destroy) addDestructor(tab->groups, t->groupType, groups);
  tab->groupMask = groups - 1;
  tab->lo = lo;
  tab->capacity = capacity;
  tab->growthLeft = small ? kSlots : loadLimit(capacity);
  tab->localDepth = depth;
  tab->small = small;
  if (!small) m->tables++;
  m->capacity += capacity;
  return tab;
}

// The smallest table capacity whose load limit holds n entries.
uint32_t capacityFor(uint64_t n) {
  uint32_t c = kSlots;
  while (c < kMaxTableCapacity && n > loadLimit(c)) c *= 2;
  return c;
}

// Places an entry known to be absent into a table being built (no
// tombstones, no equal keys): the first empty slot of its probe sequence.
void insertFresh(const MapType* t, Table* dst, uint64_t hash, char* src, bool keep) {
  for (Probe p(hash, dst->groupMask);; p.next()) {
    char* g = groupAt(t, dst->groups, p.pos);
    auto empty = group::matchEmpty(mapgroup::load(g));
    if (!empty.any()) continue;
    uint32_t i = empty.first();
    char* slot = slotAt(t, g, i);
    relocateOne(t->key, slot, src, keep);
    relocateOne(t->elem, elemOf(t, slot), elemOf(t, src), keep);
    ctrlAt(g, i) = h2(hash);
    dst->used++;
    dst->growthLeft--;
    return;
  }
}

// Moves (or copies, while a loop runs) every entry of old into a, or into
// a and b by the hash bit splitBit.
void rehashInto(const MapType* t, Map* m, Table* old, Table* a, Table* b, uint64_t splitBit, bool keep) {
  eachSlot(t, old, group::matchFull, [&](char* g, uint32_t i) {
    char* slot = slotAt(t, g, i);
    uint64_t h = t->hash(slot, m->seed);
    insertFresh(t, b && (h & splitBit) ? b : a, h, slot, keep);
  });
}

// old is leaving the map (called before its replacement is installed, so
// that it stays reachable meanwhile). keep: its objects stay alive for the
// loops that may walk it, and the collector destroys them when its groups
// die; otherwise they were moved out or destroyed already, and its control
// bytes say so, so that the groups' destructor record finds nothing.
void retire(const MapType* t, Map* m, Table* old, bool keep) {
  old->stale = true;
  m->capacity -= old->capacity;
  if (!old->small) m->tables--;
  m->zombies -= old->zombies;
  if (!keep && t->groupType->destroy) {
    for (uint64_t gi = 0; gi <= old->groupMask; gi++) std::memcpy(groupAt(t, old->groups, gi), &mapgroup::kAllEmpty, 8);
  }
}

// Points the directory entries of tab's range at it.
void install(Map* m, Table* tab) {
  uint64_t first = tab->localDepth == 0 ? 0 : tab->lo >> m->globalShift;
  uint64_t n = uint64_t(1) << (m->globalDepth - tab->localDepth);
  for (uint64_t i = 0; i < n; i++) {
    DirEntry& e = m->dir[first + i];
    e.groups = tab->groups.get();
    e.groupMask = tab->groupMask;
    e.tab = tab;
  }
}

void setDirectory(Map* m, DirEntry* dir, uint32_t depth) {
  m->dir = dir;
  m->globalDepth = depth;
  m->globalShift = (64 - depth) & 63;
  m->dirMask = (uint64_t(1) << depth) - 1;
}

void growDirectory(Map* m) {
  uint64_t n = m->dirMask + 1;
  GcRef<DirEntry> dir = allocZeroed<DirEntry>(2 * n);  // traced while it fills
  for (uint64_t i = 0; i < n; i++) dir[2 * i] = dir[2 * i + 1] = m->dir[i];
  setDirectory(m, dir, m->globalDepth + 1);
}

// Halves the directory while no table is as deep as it.
void shrinkDirectory(Map* m) {
  while (m->globalDepth > 0) {
    uint64_t n = m->dirMask + 1;
    for (uint64_t i = 0; i < n; i++) {
      if (m->dir[i].tab->localDepth == m->globalDepth) return;
    }
    GcRef<DirEntry> dir = allocZeroed<DirEntry>(n / 2);
    for (uint64_t i = 0; i < n / 2; i++) dir[i] = m->dir[2 * i];
    setDirectory(m, dir, m->globalDepth - 1);
  }
}

// Rebuilds old at capacity (larger, the same to drop tombstones, or
// smaller) over the same range.
void rebuild(const MapType* t, Map* m, Table* old, uint32_t capacity) {
  bool keep = keepOld(t, m);
  GcRef<Table> nt = newTable(t, m, capacity, old->lo, old->localDepth);
  rehashInto(t, m, old, nt, nullptr, 0, keep);
  retire(t, m, old, keep);
  install(m, nt);
}

void split(const MapType* t, Map* m, Table* old) {
  if (old->localDepth == m->globalDepth) growDirectory(m);
  bool keep = keepOld(t, m);
  uint8_t depth = old->localDepth + 1;
  uint64_t bit = uint64_t(1) << (64 - depth);
  GcRef<Table> left = newTable(t, m, kMaxTableCapacity, old->lo, depth);
  GcRef<Table> right = newTable(t, m, kMaxTableCapacity, old->lo | bit, depth);
  rehashInto(t, m, old, left, right, bit, keep);
  retire(t, m, old, keep);
  install(m, left);
  install(m, right);
}

void grow(const MapType* t, Map* m, Table* tab) {
  if (tab->tombstones + tab->zombies >= tab->capacity / 8) {
    rebuild(t, m, tab, tab->capacity);
  } else if (tab->capacity < kMaxTableCapacity) {
    rebuild(t, m, tab, tab->capacity * 2);
  } else {
    split(t, m, tab);
  }
}

// A small map's ninth entry: its group becomes a table of two groups under
// a directory of one entry.
void growSmall(const MapType* t, Map* m) {
  bool keep = keepOld(t, m);
  Table* old = m->small;
  GcRef<Table> nt = newTable(t, m, 2 * kSlots, 0, 0);
  rehashInto(t, m, old, nt, nullptr, 0, keep);
  retire(t, m, old, keep);
  setDirectory(m, allocZeroed<DirEntry>(1), 0);
  install(m, nt);
  m->small = nullptr;
}

// After a delete from tab: merge it with its buddy, or shrink it, when it
// has become sparse.
void maybeShrink(const MapType* t, Map* m, Table* tab) {
  uint32_t sparse = loadLimit(kMaxTableCapacity) / kSparseDivisor;
  if (tab->used > sparse) return;
  if (tab->localDepth > 0) {
    uint64_t bit = uint64_t(1) << (64 - tab->localDepth);
    Table* buddy = m->dir[dirIndex(m, tab->lo ^ bit)].tab;
    if (buddy->localDepth == tab->localDepth && tab->used + buddy->used <= sparse) {
      bool keep = keepOld(t, m);
      GcRef<Table> nt =
          newTable(t, m, capacityFor(2 * (tab->used + buddy->used)), tab->lo & ~bit, tab->localDepth - 1);
      rehashInto(t, m, tab, nt, nullptr, 0, keep);
      rehashInto(t, m, buddy, nt, nullptr, 0, keep);
      retire(t, m, tab, keep);
      retire(t, m, buddy, keep);
      install(m, nt);
      shrinkDirectory(m);
      return;
    }
  }
  if (tab->capacity > kSlots && tab->used <= loadLimit(tab->capacity) / kSparseDivisor) {
    rebuild(t, m, tab, capacityFor(2 * tab->used));
  }
}

// Calls f(table) once for each table of the directory.
template <class F>
void eachTable(Map* m, F f) {
  if (!m->dir) {
    if (m->small) f(m->small);
    return;
  }
  uint64_t n = m->dirMask + 1;
  for (uint64_t i = 0; i < n;) {
    Table* tab = m->dir[i].tab;
    i += uint64_t(1) << (m->globalDepth - tab->localDepth);
    f(tab);
  }
}

// The first write after the last loop ended: end the objects loops kept in
// the map's own tables (zombies). Those of replaced tables are the
// collector's (retire).
void cleanup(const MapType* t, Map* m) {
  if (m->zombies == 0) return;
  eachTable(m, [&](Table* tab) {
    if (tab->zombies == 0) return;
    for (uint64_t gi = 0; gi <= tab->groupMask; gi++) {
      char* g = groupAt(t, tab->groups, gi);
      for (uint32_t i = 0; i < kSlots; i++) {
        if (ctrlAt(g, i) != kZombie) continue;
        destroyEntry(t, slotAt(t, g, i));
        if (tab->small) {
          ctrlAt(g, i) = kEmpty;
        } else {
          ctrlAt(g, i) = kDeleted;
          tab->tombstones++;
        }
      }
    }
    tab->zombies = 0;
  });
  m->zombies = 0;
}

inline void beginWrite(const MapType* t, Map* m) {
  if (m->zombies && m->iterators.load(std::memory_order_relaxed) == 0) cleanup(t, m);
}

// ---- lookup, assign, delete, one body per key policy --------------------------------

template <class P>
char* find(const MapType* t, Map* m, typename P::Arg k) {
  if (!m->dir) {
    char* g = m->small->groups;
    uint64_t w = mapgroup::load(g);
    if constexpr (P::kDirectSmall) {
      for (auto bits = group::matchFull(w); bits.any(); bits.dropFirst()) {
        char* slot = slotAt(t, g, bits.first());
        if (P::equal(t, slot, k)) return slot;
      }
    } else {
      uint64_t h = P::hash(t, k, m->seed);
      for (auto bits = group::matchH2(w, h2(h)); bits.any(); bits.dropFirst()) {
        char* slot = slotAt(t, g, bits.first());
        if (P::equal(t, slot, k)) return slot;
      }
    }
    return nullptr;
  }
  uint64_t h = P::hash(t, k, m->seed);
  const DirEntry& e = m->dir[dirIndex(m, h)];
  for (Probe p(h, e.groupMask);; p.next()) {
    char* g = groupAt(t, e.groups, p.pos);
    uint64_t w = mapgroup::load(g);
    for (auto bits = group::matchH2(w, h2(h)); bits.any(); bits.dropFirst()) {
      char* slot = slotAt(t, g, bits.first());
      if (P::equal(t, slot, k)) [[likely]]
        return slot;
    }
    if (group::matchEmpty(w).any()) [[likely]]
      return nullptr;
  }
}

template <class P>
void* access(const MapType* t, Map* m, typename P::Arg k) {
  if (!m || m->used == 0) return nullptr;
  checkNoWriter(m);
  char* slot = find<P>(t, m, k);
  return slot ? elemOf(t, slot) : nullptr;
}

template <class P>
char* fill(const MapType* t, Table* tab, char* g, uint32_t i, uint64_t h, typename P::Arg k) {
  char* slot = slotAt(t, g, i);
  P::construct(t, slot, k);  // may throw (a key's copy): nothing is marked yet
  zeroElem(t, slot);
  ctrlAt(g, i) = h2(h);
  tab->used++;
  return slot;
}

template <class P>
void* assign(const MapType* t, Map* m, typename P::Arg k) {
  if (!m) panicNilMapAssign();
  uint64_t h = P::hash(t, k, m->seed);  // before the flag: a throwing hash leaves the map as it was
  WriteGuard guard(m);
  beginWrite(t, m);
  if (!m->dir) {
    if (!m->small) m->small = newTable(t, m, kSlots, 0, 0, true);
    Table* s = m->small;
    char* g = s->groups;
    uint64_t w = mapgroup::load(g);
    for (auto bits = group::matchH2(w, h2(h)); bits.any(); bits.dropFirst()) {
      char* slot = slotAt(t, g, bits.first());
      if (P::equal(t, slot, k)) return elemOf(t, slot);
    }
    auto free = group::matchEmpty(w) | group::matchDeleted(w);
    if (free.any()) {
      char* slot = fill<P>(t, s, g, free.first(), h, k);
      m->used++;
      return elemOf(t, slot);
    }
    growSmall(t, m);
  }
  for (;;) {
    const DirEntry& e = m->dir[dirIndex(m, h)];
    Table* tab = e.tab;
    char* reuse = nullptr;  // the first tombstone on the probe sequence
    uint32_t reuseAt = 0;
    for (Probe p(h, e.groupMask);; p.next()) {
      char* g = groupAt(t, e.groups, p.pos);
      uint64_t w = mapgroup::load(g);
      for (auto bits = group::matchH2(w, h2(h)); bits.any(); bits.dropFirst()) {
        char* slot = slotAt(t, g, bits.first());
        if (P::equal(t, slot, k)) return elemOf(t, slot);
      }
      if (!reuse) {
        auto del = group::matchDeleted(w);
        if (del.any()) {
          reuse = g;
          reuseAt = del.first();
        }
      }
      auto empty = group::matchEmpty(w);
      if (!empty.any()) continue;
      // Absent.
      char* slot;
      if (reuse) {
        slot = fill<P>(t, tab, reuse, reuseAt, h, k);
        tab->tombstones--;
      } else if (tab->growthLeft > 0) {
        slot = fill<P>(t, tab, g, empty.first(), h, k);
        tab->growthLeft--;
      } else {
        break;
      }
      m->used++;
      return elemOf(t, slot);
    }
    grow(t, m, tab);
  }
}

// Removes the entry in slot i of group g of tab.
void removeAt(const MapType* t, Map* m, Table* tab, char* g, uint32_t i) {
  uint64_t w = mapgroup::load(g);
  if (keepOld(t, m)) {
    ctrlAt(g, i) = kZombie;
    tab->zombies++;
    m->zombies++;
  } else {
    destroyEntry(t, slotAt(t, g, i));
    // A group with an empty slot ends every probe sequence that reaches it,
    // so no sequence needs this slot to go on: it may become empty.
    if (tab->small || group::matchEmpty(w).any()) {
      ctrlAt(g, i) = kEmpty;
      if (!tab->small) tab->growthLeft++;
    } else {
      ctrlAt(g, i) = kDeleted;
      tab->tombstones++;
    }
  }
  tab->used--;
  m->used--;
}

template <class P>
void remove(const MapType* t, Map* m, typename P::Arg k) {
  if (!m || m->used == 0) return;
  uint64_t h = P::hash(t, k, m->seed);
  WriteGuard guard(m);
  beginWrite(t, m);
  if (!m->dir) {
    char* g = m->small->groups;
    for (auto bits = group::matchH2(mapgroup::load(g), h2(h)); bits.any(); bits.dropFirst()) {
      uint32_t i = bits.first();
      if (P::equal(t, slotAt(t, g, i), k)) return removeAt(t, m, m->small, g, i);
    }
    return;
  }
  const DirEntry& e = m->dir[dirIndex(m, h)];
  Table* tab = e.tab;
  for (Probe p(h, e.groupMask);; p.next()) {
    char* g = groupAt(t, e.groups, p.pos);
    uint64_t w = mapgroup::load(g);
    for (auto bits = group::matchH2(w, h2(h)); bits.any(); bits.dropFirst()) {
      uint32_t i = bits.first();
      if (P::equal(t, slotAt(t, g, i), k)) {
        removeAt(t, m, tab, g, i);
        maybeShrink(t, m, tab);
        return;
      }
    }
    if (group::matchEmpty(w).any()) return;
  }
}

}  // namespace

// ---- entry points ---------------------------------------------------------------------

void makemap(const MapType* t, int64_t hint, GcRef<Map>& out) {
  algInit();
  out = allocZeroed<Map>();
  Map* m = out;
  ::new (&m->iterators) std::atomic<uint32_t>(0);
  ::new (&m->writing) std::atomic<uint8_t>(0);
  m->seed = newSeed();
  if (hint > int64_t(kSlots)) {
    // Enough tables of the largest size for hint entries at their load
    // limit, so that filling the map to hint does not grow it.
    uint64_t perTable = loadLimit(kMaxTableCapacity);
    uint64_t tables = (uint64_t(hint) + perTable - 1) / perTable;
    uint32_t depth = 0;
    while ((uint64_t(1) << depth) < tables) depth++;
    uint32_t capacity = capacityFor((uint64_t(hint) + (uint64_t(1) << depth) - 1) >> depth);
    setDirectory(m, allocZeroed<DirEntry>(uint64_t(1) << depth), depth);
    for (uint64_t i = 0; i <= m->dirMask; i++) {
      uint64_t lo = depth == 0 ? 0 : i << (64 - depth);
      install(m, newTable(t, m, capacity, lo, uint8_t(depth)));
    }
  }
}

void* mapaccess(const MapType* t, Map* m, const void* key) { return access<GenericKey>(t, m, key); }
void* mapassign(const MapType* t, Map* m, const void* key) { return assign<GenericKey>(t, m, key); }
void mapdelete(const MapType* t, Map* m, const void* key) { remove<GenericKey>(t, m, key); }
void* mapaccess_fast32(const MapType* t, Map* m, uint32_t key) { return access<FastKey<uint32_t>>(t, m, key); }
void* mapassign_fast32(const MapType* t, Map* m, uint32_t key) { return assign<FastKey<uint32_t>>(t, m, key); }
void mapdelete_fast32(const MapType* t, Map* m, uint32_t key) { remove<FastKey<uint32_t>>(t, m, key); }
void* mapaccess_fast64(const MapType* t, Map* m, uint64_t key) { return access<FastKey<uint64_t>>(t, m, key); }
void* mapassign_fast64(const MapType* t, Map* m, uint64_t key) { return assign<FastKey<uint64_t>>(t, m, key); }
void mapdelete_fast64(const MapType* t, Map* m, uint64_t key) { remove<FastKey<uint64_t>>(t, m, key); }
void* mapaccess_faststr(const MapType* t, Map* m, std::string_view key) { return access<StrKey>(t, m, key); }
void* mapassign_faststr(const MapType* t, Map* m, std::string_view key) { return assign<StrKey>(t, m, key); }
void mapdelete_faststr(const MapType* t, Map* m, std::string_view key) { remove<StrKey>(t, m, key); }

// clear(m): costs what the map holds, not what it once held. A map that
// fills at least 1/8 of its slots is emptied in place (its tables kept for
// the entries to come, as Go keeps them); a sparser one, or one that a
// loop is walking, drops its tables and starts again small.
void mapclear(const MapType* t, Map* m) {
  if (!m) return;
  WriteGuard guard(m);
  beginWrite(t, m);
  bool looping = m->iterators.load(std::memory_order_relaxed) != 0;
  if (!looping && m->used * 8 >= m->capacity) {
    eachTable(m, [&](Table* tab) {
      if (t->needsCare) eachSlot(t, tab, group::matchFull, [&](char* g, uint32_t i) { destroyEntry(t, slotAt(t, g, i)); });
      for (uint64_t gi = 0; gi <= tab->groupMask; gi++) std::memcpy(groupAt(t, tab->groups, gi), &mapgroup::kAllEmpty, 8);
      tab->used = 0;
      tab->tombstones = 0;
      tab->growthLeft = tab->small ? kSlots : loadLimit(tab->capacity);
    });
  } else {
    bool keep = keepOld(t, m);
    eachTable(m, [&](Table* tab) {
      if (!keep && t->needsCare && tab->used > 0) {
        eachSlot(t, tab, group::matchFull, [&](char* g, uint32_t i) { destroyEntry(t, slotAt(t, g, i)); });
      }
      retire(t, m, tab, keep);
    });
    m->dir = nullptr;
    m->small = nullptr;
    setDirectory(m, nullptr, 0);
  }
  m->used = 0;
  m->clearSeq++;
  // As Go does: a fresh seed, so that keys an attacker collided before
  // collide no more.
  m->seed = newSeed();
}

// ---- iteration ----------------------------------------------------------------------------

namespace {

constexpr unsigned __int128 kWholeRing = static_cast<unsigned __int128>(1) << 64;

void startTable(MapIter* it, Table* tab, unsigned __int128 span, bool filter) {
  it->tab = tab;
  it->span = span;
  it->filter = filter;
  it->i = 0;
  it->offset = uint32_t(it->rand) & (tab->capacity - 1);
  it->rand = it->rand * 6364136223846793005ull + 1442695040888963407ull;
}

void finish(MapIter* it) {
  it->key = nullptr;
  it->elem = nullptr;
  if (it->live) {
    it->live = false;
    it->m->iterators.fetch_sub(1, std::memory_order_relaxed);
  }
}

}  // namespace

void mapiterinit(const MapType* t, Map* m, MapIter* it) {
  it->t = t;
  it->m = m;
  it->key = nullptr;
  it->elem = nullptr;
  if (!m || m->used == 0) return;
  checkNoWriter(m);
  m->iterators.fetch_add(1, std::memory_order_relaxed);
  it->live = true;
  it->clearSeq = m->clearSeq;
  it->covered = 0;
  it->rand = uint64_t(fastrand()) << 32 | fastrand();
  if (!m->dir) {
    it->cursor = 0;
    startTable(it, m->small, kWholeRing, false);
  } else {
    Table* tab = m->dir[(it->rand >> 40) & m->dirMask].tab;
    it->cursor = tab->lo;
    startTable(it, tab, spanOf(tab->localDepth), false);
  }
  mapiternext(it);
}

void mapiternext(MapIter* it) {
  if (!it->live) return;
  const MapType* t = it->t;
  Map* m = it->m;
  if (m->writing.load(std::memory_order_relaxed)) fatal("concurrent map iteration and map write");
  if (m->clearSeq != it->clearSeq) return finish(it);
  for (;;) {
    Table* tab = it->tab;
    while (it->i < tab->capacity) {
      uint32_t s = (it->i++ + it->offset) & (tab->capacity - 1);
      char* g = groupAt(t, tab->groups, s / kSlots);
      if (!isFull(ctrlAt(g, s % kSlots))) continue;
      char* slot = slotAt(t, g, s % kSlots);
      if (it->filter && static_cast<unsigned __int128>(t->hash(slot, m->seed) - it->cursor) >= it->span) continue;
      if (!tab->stale) {
        it->key = slot;
        it->elem = elemOf(t, slot);
        return;
      }
      // tab was replaced: the map as it is now says whether the key is
      // still there and what it maps to. A key unequal to itself (NaN)
      // can be neither found nor deleted: the old entry is the entry.
      if (!t->equal(slot, slot)) {
        it->key = slot;
        it->elem = elemOf(t, slot);
        return;
      }
      if (m->used > 0) {
        if (char* now = find<GenericKey>(t, m, slot)) {
          it->key = now;
          it->elem = elemOf(t, now);
          return;
        }
      }
    }
    it->covered += it->span;
    it->cursor += uint64_t(it->span);
    if (it->covered >= kWholeRing || !m->dir) return finish(it);
    Table* next = m->dir[dirIndex(m, it->cursor)].tab;
    unsigned __int128 avail = spanOf(next->localDepth) - (it->cursor - next->lo);
    unsigned __int128 left = kWholeRing - it->covered;
    unsigned __int128 span = avail < left ? avail : left;
    startTable(it, next, span, next->lo != it->cursor || span != spanOf(next->localDepth));
  }
}

void mapiterclose(MapIter* it) { finish(it); }

MapShape mapshape(const Map* m) {
  if (!m) return {};
  return MapShape{m->used, m->tables, m->capacity, m->globalDepth, m->dir ? m->dirMask + 1 : 0};
}

[[noreturn]] void panicNilMapAssign() { throw runtime::PlainError("assignment to entry in nil map"); }

}  // namespace gort::internal
