// mspecial.cpp: special records of heap objects and what the collector
// does with them (Go's specials in mheap.go, markrootSpans in mgcmark.go and
// the specials half of sweep in mgcsweep.go), and weak pointers (Go 1.24's
// weak handles).
//
// A table maps an object's start to its list of Specials: finalizers
// (mfinal.cpp), cleanups (mcleanup.cpp), weak handles and pin counts
// (pinner.cpp). The collector uses it twice a cycle, both times with the
// world stopped and specialsLock held:
//
//   the snapshot (markSpecialRoots, from greyRoots): an object with a
//     finalizer has its contents scanned but is not marked itself, so what
//     it reaches lives (dependency order: if A points to B, B is marked and
//     only A's finalizer can run) and a cycle through it is never
//     collected; weak handles and pinned objects are marked (pinned ones
//     scanned); the finalizer queue's objects are marked and scanned (their
//     finalizer will use them), and the objects waiting for their cleanups
//     before their destructors are marked, not scanned.
//   mark termination (gcProcessSpecials, after the last drain): for every
//     object left unmarked, its weak handles are cleared first; then, if it
//     has a finalizer, the finalizers are queued and the object marked again
//     (resurrected: its contents were all marked by the snapshot's scan), its
//     cleanups kept for the next time; otherwise its cleanups are queued and
//     its records dropped, the object left to the sweep (or, if it has a
//     destructor, marked and held until its cleanups have run, so that the
//     destructor runs after them, from a later cycle's sweep).
//
// Weak pointers: every weak::Pointer made from one address shares a
// WeakHandle, a small heap object that the special marks at each snapshot
// and that weak::Pointer holds through a Ptr. Clearing happens at mark
// termination, not in the lazy sweep, so no weak Value() can meet an object
// the cycle has condemned but not yet swept. Value() reads the handle under
// specialsLock and, while marking, shades the object it returns (the
// deletion barrier cannot see a pointer made from nothing), so an object is
// either kept by this cycle or read as gone.
//
// Invariants: a Special exists only for an allocated object (every dead
// object's records are consumed at the mark termination that finds it dead,
// before the sweep can free it); a pinned object is always marked, so it
// never reaches gcProcessSpecials.
//
// Lock order: specialsLock, then the shared cache's lock, the mark gate,
// the roots and the destructors (the collector's order; mgc.cpp). A
// goroutine holds specialsLock only inside a RuntimeEntry (no preemption,
// so the world never stops with it held), and nobody allocates from the
// collected heap or registers a root under it except weakValue's store into
// its caller's Ptr, which the collector's order allows.
#include <link.h>

#include <cstdlib>

#include "runtime/mgc.hpp"
#include "runtime/mheap.hpp"
#include "runtime/mspecial.hpp"
#include "runtime/panic.hpp"
#include "runtime/proc.hpp"

namespace gort::internal {

std::mutex specialsLock;

namespace {

// specialsLock: object start -> its records, open addressing (linear
// probing). Removal leaves a tombstone, so that the collector can drop
// entries while it walks the array; the array is rebuilt when tombstones
// and entries fill three quarters of it, and after a collection that
// removed entries.
constexpr uintptr_t kEmpty = 0, kTomb = 1;
struct Entry {
  uintptr_t base;
  Special* head;
};
struct Table {
  Entry* slots = nullptr;
  size_t cap = 0, n = 0, tombs = 0;

  // A page's objects land in one run of slots (a random start per page,
  // then the word offset), so that records made one after another, as
  // allocation makes objects, touch neighbouring slots.
  size_t home(uintptr_t a) const {
    return size_t(((a >> 13) * 0x9e3779b97f4a7c15ull >> 24) + (a >> 3)) & (cap - 1);
  }
  void rebuild(size_t newCap) {
    Entry* old = slots;
    size_t oldCap = cap;
    slots = static_cast<Entry*>(calloc(newCap, sizeof(Entry)));
    if (!slots) throw_("runtime: cannot grow the specials table");
    cap = newCap;
    n = tombs = 0;
    for (size_t i = 0; i < oldCap; i++) {
      if (old[i].base > kTomb) {
        size_t j = home(old[i].base);
        while (slots[j].base != kEmpty) j = (j + 1) & (cap - 1);
        slots[j] = old[i];
        n++;
      }
    }
    free(old);
  }
  Entry* find(uintptr_t base) {
    if (!cap) return nullptr;
    for (size_t i = home(base);; i = (i + 1) & (cap - 1)) {
      if (slots[i].base == base) return &slots[i];
      if (slots[i].base == kEmpty) return nullptr;
    }
  }
  Entry* insert(uintptr_t base) {
    if (Entry* e = find(base)) return e;
    if ((n + tombs + 1) * 4 > cap * 3) rebuild(cap ? (n * 2 + 2 > cap ? cap * 2 : cap) : 1024);
    size_t i = home(base);
    while (slots[i].base > kTomb) i = (i + 1) & (cap - 1);
    if (slots[i].base == kTomb) tombs--;
    slots[i] = Entry{base, nullptr};
    n++;
    return &slots[i];
  }
  void remove(Entry* e) {
    e->base = kTomb;
    e->head = nullptr;
    n--;
    tombs++;
  }
};
Table table;

// specialsLock: Specials come from chunks and go back to a free list.
Special* freeSpecials;

}  // namespace

Special* newSpecial(SpecialKind kind, uintptr_t p, Special* next) {
  if (!freeSpecials) {
    constexpr size_t kChunk = 1024;
    auto* chunk = static_cast<Special*>(malloc(kChunk * sizeof(Special)));
    if (!chunk) throw_("runtime: cannot allocate special records");
    for (size_t i = 0; i < kChunk; i++) {
      chunk[i].next = freeSpecials;
      freeSpecials = &chunk[i];
    }
  }
  Special* s = freeSpecials;
  freeSpecials = s->next;
  s->next = next;
  s->kind = kind;
  s->p = p;
  s->fin = nullptr;
  s->id = 0;
  return s;
}

void freeSpecial(Special* s) {
  s->next = freeSpecials;
  freeSpecials = s;
}

Special** specialsOf(uintptr_t base, bool create) {
  Entry* e = create ? table.insert(base) : table.find(base);
  return e ? &e->head : nullptr;
}

void forgetIfEmpty(uintptr_t base) {
  Entry* e = table.find(base);
  if (e && e->head == nullptr) table.remove(e);
}

bool globalPointer(const void* p) {
  struct Find {
    uintptr_t p;
    bool found;
  } f{reinterpret_cast<uintptr_t>(p), false};
  dl_iterate_phdr(
      [](dl_phdr_info* info, size_t, void* arg) {
        auto* f = static_cast<Find*>(arg);
        for (int i = 0; i < info->dlpi_phnum; i++) {
          const ElfW(Phdr)& ph = info->dlpi_phdr[i];
          if (ph.p_type != PT_LOAD || !(ph.p_flags & PF_W)) continue;
          uintptr_t lo = info->dlpi_addr + ph.p_vaddr;
          if (f->p >= lo && f->p < lo + ph.p_memsz) {
            f->found = true;
            return 1;
          }
        }
        return 0;
      },
      &f);
  return f.found;
}

void gcLockSpecials() { specialsLock.lock(); }
void gcUnlockSpecials() { specialsLock.unlock(); }

void markSpecialRoots() {
  for (size_t k = 0; k < table.cap; k++) {
    uintptr_t base = table.slots[k].base;
    if (base <= kTomb) continue;
    bool scanned = false;
    for (Special* s = table.slots[k].head; s; s = s->next) {
      switch (s->kind) {
        case SpecialKind::finalizer:
          if (!scanned) gcScanContents(base);
          scanned = true;
          break;
        case SpecialKind::weak:
          gcShade(s->weak);
          break;
        case SpecialKind::pin:
          gcShade(reinterpret_cast<void*>(base));
          break;
        case SpecialKind::cleanup:
          break;
      }
    }
  }
  markFinalizerQueue();
}

bool gcProcessSpecials() {
  bool queued = false;
  for (size_t k = 0; k < table.cap; k++) {
    Entry& e = table.slots[k];
    uintptr_t base = e.base;
    if (base <= kTomb) continue;
    mspan* span;
    uintptr_t idx;
    if (findObject(base, &span, &idx) != base) throw_("runtime: special record for a free object");
    if (span->marked(idx)) continue;
    bool hasFinalizer = false;
    for (Special* s = e.head; s; s = s->next) hasFinalizer |= s->kind == SpecialKind::finalizer;
    bool hold = !hasFinalizer && hasDestructor(span, idx);
    if (hasFinalizer || hold) gcMarkNewObject(base);
    for (Special** pp = &e.head; *pp;) {
      Special* s = *pp;
      switch (s->kind) {
        case SpecialKind::weak:
          __atomic_store_n(&s->weak->p, 0, __ATOMIC_RELEASE);
          break;
        case SpecialKind::finalizer:
          queueFinalizer(s->fin, s->p);
          queued = true;
          break;
        case SpecialKind::cleanup:
          if (hasFinalizer) {  // runs once the object dies for good
            pp = &s->next;
            continue;
          }
          queueCleanup(s->cleanup, hold ? base : 0);
          queued = true;
          break;
        case SpecialKind::pin:
          throw_("runtime: pinned object unmarked");
      }
      *pp = s->next;
      freeSpecial(s);
    }
    if (e.head == nullptr) table.remove(&e);
  }
  if (table.tombs) table.rebuild(table.cap);
  return queued;
}

void weakMake(const void* p, PtrWord& out) {
  ensureStarted();
  uintptr_t base = findObject(reinterpret_cast<uintptr_t>(p));
  if (base == 0) throw_("getWeakHandle on invalid pointer");
  // Made before the lock (allocation may collect); kept in a Ptr meanwhile.
  Ptr<WeakHandle> fresh = New<WeakHandle>(WeakHandle{reinterpret_cast<uintptr_t>(p)});
  RuntimeEntry entry;
  std::lock_guard<std::mutex> guard(specialsLock);
  Special** head = specialsOf(base, true);
  for (Special* s = *head; s; s = s->next) {
    if (s->kind == SpecialKind::weak && s->p == reinterpret_cast<uintptr_t>(p)) {
      out.store(s->weak);
      return;
    }
  }
  Special* s = newSpecial(SpecialKind::weak, reinterpret_cast<uintptr_t>(p), *head);
  s->weak = fresh.get();
  *head = s;
  if (gcMarking.load(std::memory_order_acquire)) gcShade(fresh.get());  // the snapshot did not see it
  out.store(fresh.get());
}

void weakValue(WeakHandle* h, PtrWord& out) {
  RuntimeEntry entry;
  std::lock_guard<std::mutex> guard(specialsLock);
  uintptr_t p = __atomic_load_n(&h->p, __ATOMIC_ACQUIRE);
  if (p == 0) return;
  if (gcMarking.load(std::memory_order_acquire)) gcShade(reinterpret_cast<void*>(p));
  out.store(reinterpret_cast<void*>(p));
}

}  // namespace gort::internal
