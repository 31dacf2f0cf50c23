// Finalizers, cleanups, weak pointers and pinning (runtime_final.hpp,
// weak.hpp): each rule, with the collector re-marking every cycle
// (gccheckmark) and clobbering what it frees, often with another goroutine
// collecting back to back meanwhile; misuse in child processes.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <mutex>
#include <string>
#include <vector>

#include "gort/debug.hpp"
#include "gort/go.hpp"
#include "gort/new.hpp"
#include "gort/panic.hpp"
#include "gort/runtime.hpp"
#include "gort/runtime_final.hpp"
#include "gort/sync.hpp"
#include "gort/time.hpp"
#include "gort/weak.hpp"
#include "runtime/arch.hpp"
#include "runtime/mgc.hpp"
#include "runtime/mheap.hpp"
#include "runtime/runtime2.hpp"

namespace gi = gort::internal;
namespace rt = gort::runtime;
using gort::New;
using gort::Ptr;

namespace {

const bool checkmarks = (setenv("GODEBUG", "gccheckmark=1,clobberfree=1", 0), true);

constexpr uint64_t kAlive = 0x600d600d600d600dull;

struct Obj {
  using trivially_collected = void;
  uint64_t magic = kAlive;
  int id = 0;
  Ptr<Obj> next;
  uint64_t pad[2] = {};
  Obj() = default;
  explicit Obj(int i, Ptr<Obj> n = nullptr) : id(i), next(n) {}
};

// Zeroes the dead frames below the caller (32 KiB, within the goroutine's
// stack), uninstrumented so that a sanitizer's redzones are cleared too.
__attribute__((noinline, no_sanitize_address, no_sanitize_thread)) void scrubStack() {
  volatile uintptr_t here = 0;
  auto top = reinterpret_cast<uintptr_t>(&here) - 256;
  uintptr_t lo = top - (32 << 10);
  gi::g* gp = gi::getg();
  if (gp && lo < gp->stk.lo + 1024) lo = gp->stk.lo + 1024;
  for (uintptr_t p = lo; p < top; p += sizeof(uintptr_t)) *reinterpret_cast<volatile uintptr_t*>(p) = 0;
}

// Runs fn on a goroutine that then exits, so that nothing it left in
// registers or dead stack slots is scanned; its frames are zeroed first, as
// the stack goes back to a pool and the next goroutine's frames may leave
// gaps (larger under the sanitizers) through which the conservative scan
// would read them.
template <class F>
void onDeadGoroutine(F fn) {
  gort::sync::WaitGroup wg;
  wg.Add(1);
  gort::go([&] {
    fn();
    scrubStack();
    wg.Done();
  });
  wg.Wait();
  gort::time::Sleep(gort::time::Millisecond);
}

// A full cycle, run on a goroutine that then zeroes its frames and exits:
// the collecting goroutine's own stack is scanned conservatively too, and
// the frames its marking leaves behind name objects it scanned, which
// would keep them alive into later cycles.
void gcOnDeadGoroutine() {
  gort::sync::WaitGroup wg;
  wg.Add(1);
  gort::go([&] {
    rt::GC();
    scrubStack();
    wg.Done();
  });
  wg.Wait();
}

// Collects until pred holds or the deadline (seconds) passes.
template <class P>
bool collectUntil(P pred, double seconds = 8) {
  auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (!pred()) {
    if (std::chrono::steady_clock::now() > end) return false;
    gcOnDeadGoroutine();
    gort::time::Sleep(gort::time::Millisecond);
  }
  return true;
}

// Whether any of the weak pointers still has a value, read from the shared
// handle without making a Ptr: a Ptr that Value() returned would linger in
// some frame, and the conservative stack scan keep its object alive.
template <class T>
bool hasValue(const gort::weak::Pointer<T>& w) {
  static_assert(sizeof(w) == sizeof(Ptr<gi::WeakHandle>));
  const auto& h = reinterpret_cast<const Ptr<gi::WeakHandle>&>(w);
  return h && __atomic_load_n(&h->p, __ATOMIC_ACQUIRE) != 0;
}
template <class T>
bool anyValue(const std::vector<gort::weak::Pointer<T>>& ws) {
  for (auto& w : ws) {
    if (hasValue(w)) return true;
  }
  return false;
}

void collect(int n) {
  for (int i = 0; i < n; i++) {
    gcOnDeadGoroutine();
    gort::time::Sleep(100 * gort::time::Microsecond);
  }
}

// Another goroutine collecting back to back while the test runs.
class Collector {
 public:
  Collector() {
    wg_.Add(1);
    gort::go([this] {
      while (!stop_.load()) {
        gcOnDeadGoroutine();
        rt::Gosched();
      }
      wg_.Done();
    });
  }
  ~Collector() {
    stop_.store(true);
    wg_.Wait();
  }

 private:
  std::atomic<bool> stop_{false};
  gort::sync::WaitGroup wg_;
};

// An event log the finalizer goroutine and the destructor thread append to.
struct Log {
  std::mutex mu;
  std::vector<std::string> events;
  void add(std::string e) {
    std::lock_guard<std::mutex> g(mu);
    events.push_back(std::move(e));
  }
  size_t count(const std::string& e) {
    std::lock_guard<std::mutex> g(mu);
    return size_t(std::count(events.begin(), events.end(), e));
  }
  long index(const std::string& e) {
    std::lock_guard<std::mutex> g(mu);
    auto it = std::find(events.begin(), events.end(), e);
    return it == events.end() ? -1 : long(it - events.begin());
  }
  void clear() {
    std::lock_guard<std::mutex> g(mu);
    events.clear();
  }
};
Log logv;

Ptr<Obj> resurrected;  // a registered root

// ---- finalizers ----

TEST(Finalizer, RunsOnceForEachUnreachableObjectWithItsPointer) {
  gort::Run([] {
    constexpr int kN = 200;
    static std::atomic<int> ran{0}, bad{0};
    static std::vector<std::atomic<int>> seen(kN);
    ran = 0;
    bad = 0;
    for (auto& s : seen) s = 0;
    Collector bg;
    onDeadGoroutine([] {
      for (int i = 0; i < kN; i++) {
        auto o = New<Obj>(i);
        rt::SetFinalizer(o, [](Ptr<Obj> p) {
          if (p->magic != kAlive || p->id < 0 || p->id >= kN) bad.fetch_add(1);
          else seen[size_t(p->id)].fetch_add(1);
          ran.fetch_add(1);
        });
      }
    });
    EXPECT_TRUE(collectUntil([] { return ran.load() == kN; })) << ran.load();
    collect(5);
    EXPECT_EQ(ran.load(), kN);
    EXPECT_EQ(bad.load(), 0);
    for (int i = 0; i < kN; i++) EXPECT_EQ(seen[size_t(i)].load(), 1) << i;
  });
}

TEST(Finalizer, ReachableObjectsAreNotFinalized) {
  gort::Run([] {
    static std::atomic<int> ran{0};
    ran = 0;
    Collector bg;
    std::vector<Ptr<Obj>> keep;  // malloc memory: roots
    for (int i = 0; i < 100; i++) {
      keep.push_back(New<Obj>(i));
      rt::SetFinalizer(keep.back(), [](Obj*) { ran.fetch_add(1); });
    }
    collect(20);
    EXPECT_EQ(ran.load(), 0);
    for (int i = 0; i < 100; i++) EXPECT_EQ(keep[size_t(i)]->magic, kAlive);
    for (auto& k : keep) rt::SetFinalizer(k, nullptr);
  });
}

TEST(Finalizer, KeepAliveHoldsUntilItsCall) {
  gort::Run([] {
    static std::atomic<int> ran{0};
    ran = 0;
    Collector bg;
    onDeadGoroutine([] {
      Obj* raw;
      {
        auto o = New<Obj>(1);
        rt::SetFinalizer(o, [](Obj*) { ran.fetch_add(1); });
        raw = o.get();
      }
      collect(10);
      EXPECT_EQ(ran.load(), 0) << "finalized before its KeepAlive";
      EXPECT_EQ(raw->magic, kAlive);
      rt::KeepAlive(raw);
    });
    EXPECT_TRUE(collectUntil([] { return ran.load() == 1; }));
  });
}

TEST(Finalizer, ResurrectedObjectAndWhatItReachesSurvive) {
  gort::Run([] {
    static std::atomic<int> ran{0}, cleaned{0};
    static std::atomic<bool> childIntact{false};
    ran = 0;
    cleaned = 0;
    Collector bg;
    onDeadGoroutine([] {
      auto child = New<Obj>(2);
      auto o = New<Obj>(1, child);
      rt::SetFinalizer(o, [](Ptr<Obj> p) {
        childIntact = p->next && p->next->magic == kAlive && p->next->id == 2;
        resurrected = p;
        ran.fetch_add(1);
      });
      rt::AddCleanup(o, [](int) { cleaned.fetch_add(1); }, 0);
    });
    ASSERT_TRUE(collectUntil([] { return ran.load() == 1; }));
    EXPECT_TRUE(childIntact.load());
    collect(10);
    onDeadGoroutine([] {  // the Ptrs these make stay off this goroutine's stack
      ASSERT_TRUE(resurrected);
      EXPECT_EQ(resurrected->magic, kAlive);
      EXPECT_EQ(resurrected->next->magic, kAlive);
      EXPECT_EQ(resurrected->next->id, 2);
    });
    EXPECT_EQ(cleaned.load(), 0) << "a cleanup ran while its object was alive again";
    EXPECT_EQ(ran.load(), 1);
    resurrected = nullptr;  // now truly gone: the cleanup runs, the finalizer not again
    EXPECT_TRUE(collectUntil([] { return cleaned.load() == 1; }));
    collect(3);
    EXPECT_EQ(ran.load(), 1);
  });
}

TEST(Finalizer, ChainsRunInDependencyOrderOnePerCycle) {
  gort::Run([] {
    constexpr int kLen = 6;
    static std::atomic<int> order[kLen];
    static std::atomic<int> next{0};
    static std::atomic<uint32_t> cycleAt[kLen];
    next = 0;
    onDeadGoroutine([] {
      Ptr<Obj> head;
      for (int i = kLen - 1; i >= 0; i--) {
        head = New<Obj>(i, head);  // head: 0 -> 1 -> ... -> kLen-1
        rt::SetFinalizer(head, [](Ptr<Obj> p) {
          rt::MemStats m;
          rt::ReadMemStats(&m);
          int k = next.fetch_add(1);
          order[k] = p->id;
          cycleAt[k] = m.NumGC;
          // What it points to is still intact: its finalizer has not run.
          if (p->next && p->next->magic != kAlive) order[k] = -100;
        });
      }
    });
    Collector bg;
    ASSERT_TRUE(collectUntil([] { return next.load() == kLen; })) << next.load();
    for (int k = 0; k < kLen; k++) EXPECT_EQ(order[k].load(), k) << "position " << k;
    for (int k = 1; k < kLen; k++) EXPECT_GT(cycleAt[k].load(), cycleAt[k - 1].load()) << k;
  });
}

TEST(Finalizer, CycleHoldingAFinalizerIsNeverCollected) {
  gort::Run([] {
    static std::atomic<int> ran{0}, cleaned{0};
    ran = 0;
    cleaned = 0;
    static gort::weak::Pointer<Obj> wa, wb, wc;
    onDeadGoroutine([] {
      auto a = New<Obj>(1);
      auto b = New<Obj>(2, a);
      a->next = b;  // a <-> b
      rt::SetFinalizer(a, [](Obj*) { ran.fetch_add(1); });
      wa = gort::weak::Make(a);
      wb = gort::weak::Make(b);
      // The same shape without a finalizer is collected.
      auto c = New<Obj>(3);
      auto d = New<Obj>(4, c);
      c->next = d;
      rt::AddCleanup(c, [](int) { cleaned.fetch_add(1); }, 0);
      wc = gort::weak::Make(c);
    });
    Collector bg;
    EXPECT_TRUE(collectUntil([] { return cleaned.load() == 1; }));
    collect(10);
    EXPECT_EQ(ran.load(), 0);
    EXPECT_FALSE(hasValue(wc));
    Ptr<Obj> a = wa.Value();
    ASSERT_TRUE(a);
    EXPECT_EQ(a->magic, kAlive);
    EXPECT_EQ(a->next->magic, kAlive);
    EXPECT_EQ(wb.Value(), a->next);
    rt::SetFinalizer(a, nullptr);  // now it can go
    a = nullptr;
    wa = {};
    wb = {};
  });
}

TEST(Finalizer, SetToNullClears) {
  gort::Run([] {
    static std::atomic<int> ran{0};
    ran = 0;
    static gort::weak::Pointer<Obj> w;
    onDeadGoroutine([] {
      auto o = New<Obj>(1);
      rt::SetFinalizer(o, [](Obj*) { ran.fetch_add(1); });
      rt::SetFinalizer(o, nullptr);
      rt::SetFinalizer(o, [](Obj*) { ran.fetch_add(10); });  // may be set again once cleared
      rt::SetFinalizer(o, nullptr);
      w = gort::weak::Make(o);
    });
    Collector bg;
    EXPECT_TRUE(collectUntil([] { return !hasValue(w); })) << "object with a cleared finalizer not collected";
    collect(5);
    EXPECT_EQ(ran.load(), 0);
  });
}

TEST(Finalizer, FinalizerCanSetAnotherAndRunsAgain) {
  gort::Run([] {
    static std::atomic<int> ran{0};
    ran = 0;
    onDeadGoroutine([] {
      auto o = New<Obj>(1);
      rt::SetFinalizer(o, [](Ptr<Obj> p) {
        ran.fetch_add(1);
        rt::SetFinalizer(p, [](Obj* q) { ran.fetch_add(q->magic == kAlive ? 10 : 1000); });
      });
    });
    Collector bg;
    EXPECT_TRUE(collectUntil([] { return ran.load() == 11; })) << ran.load();
  });
}

TEST(Finalizer, TinyObjectsMayUseInteriorPointers) {
  gort::Run([] {
    static std::atomic<int> ran{0};
    ran = 0;
    onDeadGoroutine([] {
      for (int i = 0; i < 64; i++) {
        auto a = New<uint32_t>(1u);  // pointer-free, under 16 bytes: tiny blocks
        rt::SetFinalizer(a, [](uint32_t* p) { ran.fetch_add(int(*p)); });
      }
    });
    EXPECT_TRUE(collectUntil([] { return ran.load() == 64; })) << ran.load();
  });
}

// ---- weak pointers ----

TEST(Weak, EqualForTheSameObjectAndValueWhileAlive) {
  gort::Run([] {
    Collector bg;
    auto a = New<Obj>(1), b = New<Obj>(2);
    auto wa1 = gort::weak::Make(a), wa2 = gort::weak::Make(a), wb = gort::weak::Make(b);
    EXPECT_TRUE(wa1 == wa2);
    EXPECT_FALSE(wa1 == wb);
    EXPECT_TRUE(gort::weak::Pointer<Obj>() == gort::weak::Make<Obj>(nullptr));
    EXPECT_FALSE(gort::weak::Pointer<Obj>().Value());
    for (int i = 0; i < 20; i++) {
      rt::GC();
      EXPECT_EQ(wa1.Value(), a);
      EXPECT_EQ(wb.Value(), b);
    }
    rt::KeepAlive(a);
    rt::KeepAlive(b);
  });
}

TEST(Weak, ValueIsNullOnceUnreachableAndStaysSo) {
  gort::Run([] {
    constexpr int kN = 100;
    static std::vector<gort::weak::Pointer<Obj>> ws;
    ws.assign(kN, {});
    onDeadGoroutine([] {
      for (int i = 0; i < kN; i++) ws[size_t(i)] = gort::weak::Make(New<Obj>(i));
    });
    Collector bg;
    EXPECT_TRUE(collectUntil([] { return !anyValue(ws); }));
    // Equal still (the same address), null forever, whatever reuses the slots.
    std::vector<Ptr<Obj>> fresh;
    for (int i = 0; i < 1000; i++) fresh.push_back(New<Obj>(i));
    collect(3);
    EXPECT_FALSE(anyValue(ws));
    ws.clear();
  });
}

TEST(Weak, ClearedBeforeTheFinalizerRunsAndAfterResurrection) {
  gort::Run([] {
    static gort::weak::Pointer<Obj> w;
    static std::atomic<int> ran{0}, sawValue{0};
    ran = 0;
    sawValue = 0;
    onDeadGoroutine([] {
      auto o = New<Obj>(7);
      w = gort::weak::Make(o);
      rt::SetFinalizer(o, [](Ptr<Obj> p) {
        if (w.Value()) sawValue.fetch_add(1);
        resurrected = p;
        ran.fetch_add(1);
      });
    });
    Collector bg;
    ASSERT_TRUE(collectUntil([] { return ran.load() == 1; }));
    EXPECT_EQ(sawValue.load(), 0) << "the weak pointer outlived the object into its finalizer";
    collect(5);
    EXPECT_FALSE(hasValue(w)) << "a resurrected object read as alive through its old weak pointer";
    static gort::weak::Pointer<Obj> w2;
    onDeadGoroutine([] {
      ASSERT_TRUE(resurrected);
      EXPECT_EQ(resurrected->id, 7);
      w2 = gort::weak::Make(resurrected);
      EXPECT_FALSE(w2 == w);
      EXPECT_EQ(w2.Value(), resurrected);
    });
    resurrected = nullptr;
    EXPECT_TRUE(collectUntil([] { return !hasValue(w2); }));
  });
}

// Value() racing the collector: an object reached only through its weak
// pointer is either returned intact (and then kept) or null.
TEST(Weak, ValueRacingCollectionsNeverReturnsAFreedObject) {
  gort::Run([] {
    rt::GOMAXPROCS(4);
    Collector bg;
    std::atomic<int> bad{0};
    gort::sync::WaitGroup wg;
    for (int g = 0; g < 3; g++) {
      wg.Add(1);
      gort::go([&, g] {
        for (int round = 0; round < 100; round++) {
          std::vector<gort::weak::Pointer<Obj>> ws;
          std::vector<Ptr<Obj>> keep;
          for (int i = 0; i < 20; i++) {
            auto o = New<Obj>(i, New<Obj>(100 + i));
            ws.push_back(gort::weak::Make(o));
            if (i % 2 == 0) keep.push_back(o);
          }
          std::vector<Ptr<Obj>> revived;  // what Value() brought back must stay whole
          for (int k = 0; k < 3; k++) {
            for (int i = 0; i < 20; i++) {
              Ptr<Obj> v = ws[size_t(i)].Value();
              if (i % 2 == 0 && v != keep[size_t(i / 2)]) bad.fetch_add(1);
              if (v && (v->magic != kAlive || v->id != i || v->next->magic != kAlive || v->next->id != 100 + i)) {
                bad.fetch_add(1);
              }
              if (v && i % 2 == 1) revived.push_back(v);
            }
            rt::Gosched();
          }
          gort::time::Sleep(200 * gort::time::Microsecond);  // a cycle or two ends meanwhile
          for (auto& v : revived) {
            if (v->magic != kAlive || v->next->magic != kAlive) bad.fetch_add(1);
          }
        }
        (void)g;
        wg.Done();
      });
    }
    wg.Wait();
    EXPECT_EQ(bad.load(), 0);
    rt::GOMAXPROCS(1);
  });
}

// The case the shading in Value() is for: an object only a weak pointer
// reaches, brought back while the cycle marks (the stacks already scanned)
// and stored in a root, which takes no barrier. Unshaded, the cycle would
// free it under the new Ptr.
TEST(Weak, ValueWhileMarkingKeepsTheObject) {
  gort::Run([] {
    rt::GOMAXPROCS(2);
    static std::vector<Ptr<Obj>> revived;
    static std::vector<gort::weak::Pointer<Obj>> ws;
    Ptr<Obj> chain;  // a long list, so that marking takes a while
    for (int i = 0; i < 200000; i++) chain = New<Obj>(i, chain);
    int caught = 0;
    for (int round = 0; round < 20 && caught < 3; round++) {
      ws.clear();
      onDeadGoroutine([] {
        for (int i = 0; i < 64; i++) ws.push_back(gort::weak::Make(New<Obj>(i, New<Obj>(1000 + i))));
      });
      // No cycle marks meanwhile (this goroutine alone collects, and the
      // objects are few): they are white at the next snapshot.
      std::atomic<bool> done{false};
      gort::go([&] {
        rt::GC();
        done = true;
      });
      while (!gi::gcMarking.load() && !done.load()) rt::Gosched();  // a safe point: the cycle stops the world
      if (done.load()) continue;
      caught++;
      onDeadGoroutine([] {
        for (auto& w : ws) {
          if (Ptr<Obj> v = w.Value()) revived.push_back(v);
        }
      });
      while (!done.load()) rt::Gosched();
      rt::GC();
      for (auto& v : revived) {
        ASSERT_EQ(v->magic, kAlive) << "Value() returned an object the cycle then freed";
        ASSERT_EQ(v->next->magic, kAlive);
      }
    }
    EXPECT_GT(caught, 0) << "never called Value() while marking";
    EXPECT_GT(revived.size(), 0u) << "Value() found nothing to bring back";
    revived.clear();
    ws.clear();
    rt::KeepAlive(chain);
    rt::GOMAXPROCS(1);
  });
}

// ---- cleanups ----

TEST(Cleanup, EveryCleanupRunsOnceWithItsArgument) {
  gort::Run([] {
    static std::atomic<int> sum{0}, calls{0};
    sum = 0;
    calls = 0;
    onDeadGoroutine([] {
      for (int i = 0; i < 50; i++) {
        auto o = New<Obj>(i);
        for (int k = 1; k <= 3; k++) {
          rt::AddCleanup(o, [](int v) {
            sum.fetch_add(v);
            calls.fetch_add(1);
          }, i * 10 + k);
        }
      }
    });
    Collector bg;
    int want = 0;
    for (int i = 0; i < 50; i++) want += 3 * i * 10 + 6;
    EXPECT_TRUE(collectUntil([] { return calls.load() == 150; })) << calls.load();
    collect(3);
    EXPECT_EQ(calls.load(), 150);
    EXPECT_EQ(sum.load(), want);
  });
}

TEST(Cleanup, InteriorPointerAttachesToItsObject) {
  gort::Run([] {
    static std::atomic<int> ran{0};
    ran = 0;
    static gort::weak::Pointer<Obj> w;
    Collector bg;
    onDeadGoroutine([] {
      auto o = New<Obj>(5);
      resurrected = o;  // held by a root for now
      rt::AddCleanup(&o->pad[1], [](int) { ran.fetch_add(1); }, 0);
      rt::AddCleanup(&o->id, [](int) { ran.fetch_add(1); }, 0);
      w = gort::weak::Make(o);
    });
    collect(10);
    EXPECT_EQ(ran.load(), 0) << "a cleanup on an interior pointer ran while the object was reachable";
    onDeadGoroutine([] { EXPECT_EQ(resurrected->magic, kAlive); });
    resurrected = nullptr;
    EXPECT_TRUE(collectUntil([] { return ran.load() == 2; }));
    EXPECT_TRUE(collectUntil([] { return !hasValue(w); })) << "a cleanup resurrected its object";
  });
}

TEST(Cleanup, StopCancelsAndIsANoOpLater) {
  gort::Run([] {
    static std::atomic<int> ran{0}, stopped{0};
    ran = 0;
    stopped = 0;
    static rt::Cleanup later;
    onDeadGoroutine([] {
      for (int i = 0; i < 20; i++) {
        auto o = New<Obj>(i);
        rt::AddCleanup(o, [](int) { ran.fetch_add(1); }, 0);
        rt::Cleanup c = rt::AddCleanup(o, [](int) { stopped.fetch_add(1); }, 0);
        c.Stop();
        c.Stop();
      }
      auto o = New<Obj>(99);
      later = rt::AddCleanup(o, [](int) { ran.fetch_add(100); }, 0);
    });
    Collector bg;
    EXPECT_TRUE(collectUntil([] { return ran.load() == 120; })) << ran.load();
    later.Stop();  // after it ran: nothing
    collect(3);
    EXPECT_EQ(stopped.load(), 0);
    EXPECT_EQ(ran.load(), 120);
  });
}

TEST(Cleanup, ArgumentEqualToThePointerPanics) {
  gort::Run([] {
    auto o = New<Obj>(1);
    std::string msg;
    try {
      rt::AddCleanup(o, [](Ptr<Obj>) {}, o);
    } catch (const gort::PanicException& e) {
      msg = e.message();
    }
    EXPECT_EQ(msg, "panic: runtime.AddCleanup: ptr is equal to arg, cleanup will never run\n");
    msg.clear();
    try {
      rt::AddCleanup(o.get(), [](Obj*) {}, o.get());
    } catch (const gort::PanicException& e) {
      msg = e.message();
    }
    EXPECT_EQ(msg, "panic: runtime.AddCleanup: ptr is equal to arg, cleanup will never run\n");
    msg.clear();
    int onMalloc = 0;
    int* m = &onMalloc;
    auto* heapless = new int(3);
    try {
      rt::AddCleanup(heapless, [](int) {}, 0);
    } catch (const gort::PanicException& e) {
      msg = e.message();
    }
    delete heapless;
    EXPECT_EQ(msg, "panic: runtime.AddCleanup: ptr not in allocated block\n");
    msg.clear();
    try {
      rt::AddCleanup(static_cast<Obj*>(nullptr), [](int) {}, 0);
    } catch (const gort::PanicException& e) {
      msg = e.message();
    }
    EXPECT_EQ(msg, "panic: runtime.AddCleanup: ptr is nil\n");
    (void)m;
  });
}

// ---- the order on one object ----

std::atomic<int> dtorBad{0};
struct Tracked {
  int id;
  uint64_t magic = kAlive;
  explicit Tracked(int i) : id(i) {}
  ~Tracked() {
    if (magic != kAlive) dtorBad.fetch_add(1);
    magic = 0;
    logv.add("dtor " + std::to_string(id));
  }
};

TEST(Order, WeakThenFinalizerThenCleanupsThenDestructor) {
  gort::Run([] {
    logv.clear();
    dtorBad = 0;
    constexpr int kN = 20;
    static std::vector<gort::weak::Pointer<Tracked>> ws;
    ws.assign(kN, {});
    onDeadGoroutine([] {
      for (int i = 0; i < kN; i++) {
        auto t = New<Tracked>(i);
        ws[size_t(i)] = gort::weak::Make(t);
        if (i % 2 == 0) {
          rt::SetFinalizer(t, [](Ptr<Tracked> p) {
            logv.add(std::string(ws[size_t(p->id)].Value() ? "weak-alive " : "fin ") + std::to_string(p->id));
          });
        }
        rt::AddCleanup(t, [](int id) {
          // Slow, so that a destructor not waiting for it would run first.
          gort::time::Sleep(2 * gort::time::Millisecond);
          logv.add("cleanup " + std::to_string(id));
        }, i);
      }
    });
    Collector bg;
    EXPECT_TRUE(collectUntil([] {
      for (int i = 0; i < kN; i++) {
        if (logv.count("dtor " + std::to_string(i)) == 0) return false;
      }
      return true;
    }, 8));
    for (int i = 0; i < kN; i++) {
      std::string n = std::to_string(i);
      EXPECT_EQ(logv.count("weak-alive " + n), 0u) << i;
      EXPECT_EQ(logv.count("cleanup " + n), 1u) << i;
      EXPECT_EQ(logv.count("dtor " + n), 1u) << i;
      EXPECT_LT(logv.index("cleanup " + n), logv.index("dtor " + n)) << i;
      if (i % 2 == 0) {
        EXPECT_EQ(logv.count("fin " + n), 1u) << i;
        EXPECT_LT(logv.index("fin " + n), logv.index("cleanup " + n)) << i;
      }
    }
    EXPECT_EQ(dtorBad.load(), 0);
  });
}

// ---- pinning ----

TEST(Pinner, PinnedObjectsLiveWithOnlyARawPointerElsewhere) {
  gort::Run([] {
    Collector bg;
    static std::vector<uintptr_t> raw;  // invisible to the collector
    static std::vector<gort::weak::Pointer<Obj>> ws;
    raw.clear();
    ws.clear();
    rt::Pinner pinner;
    onDeadGoroutine([&] {
      for (int i = 0; i < 50; i++) {
        auto o = New<Obj>(i, New<Obj>(1000 + i));
        pinner.Pin(o);
        if (i % 5 == 0) pinner.Pin(o);  // counted
        raw.push_back(reinterpret_cast<uintptr_t>(o.get()) ^ 0x5a5a5a5a5a5a5a5aull);
        ws.push_back(gort::weak::Make(o));
      }
    });
    collect(15);
    onDeadGoroutine([] {  // the raw pointers stay off this goroutine's stack
      for (int i = 0; i < 50; i++) {
        auto* o = reinterpret_cast<Obj*>(raw[size_t(i)] ^ 0x5a5a5a5a5a5a5a5aull);
        EXPECT_EQ(o->magic, kAlive) << i;
        EXPECT_EQ(o->id, i);
        EXPECT_EQ(o->next->magic, kAlive) << i;  // what a pinned object points to lives too
        EXPECT_EQ(o->next->id, 1000 + i);
      }
    });
    pinner.Unpin();
    EXPECT_TRUE(collectUntil([] { return !anyValue(ws); })) << "unpinned objects were not collected";
    ws.clear();
  });
}

int aGlobal = 0;

TEST(Pinner, GlobalsAreIgnoredAndNonGoPointersPanic) {
  gort::Run([] {
    rt::Pinner p;
    p.Pin(&aGlobal);
    int* heapless = new int(1);
    std::string msg;
    try {
      p.Pin(heapless);
    } catch (const gort::PanicException& e) {
      msg = e.message();
    }
    delete heapless;
    EXPECT_EQ(msg, "panic: runtime error: runtime.Pinner.Pin: argument is not a Go pointer\n");
    msg.clear();
    try {
      p.Pin(nullptr);
    } catch (const gort::PanicException& e) {
      msg = e.message();
    }
    EXPECT_EQ(msg, "panic: runtime error: runtime.Pinner: argument is nil\n");
    p.Unpin();
  });
}

TEST(PinnerDeathTest, LeakedPinnerPanics) {
  EXPECT_EXIT(
      {
        gort::Run([] {
          gort::go([] {
            rt::Pinner p;
            p.Pin(New<Obj>(1));
          });
          gort::time::Sleep(gort::time::Second);
        });
        std::exit(0);
      },
      ::testing::ExitedWithCode(2), "panic: runtime error: runtime.Pinner: found leaking pinned pointer; forgot to call Unpin\\(\\)\\?");
}

// ---- misuse: Go's fatal errors ----

TEST(FinalizerDeathTest, NotAHeapPointerIsFatal) {
  EXPECT_EXIT(
      {
        gort::Run([] {
          auto* o = new Obj(1);
          rt::SetFinalizer(o, [](Obj*) {});
        });
        std::exit(0);
      },
      ::testing::ExitedWithCode(2), "fatal error: runtime.SetFinalizer: pointer not in allocated block");
}

TEST(FinalizerDeathTest, InteriorPointerIsFatal) {
  EXPECT_EXIT(
      {
        gort::Run([] {
          auto o = New<Obj>(1);
          rt::SetFinalizer(&o->next, [](Ptr<Obj>*) {});  // may hold pointers: not a tiny object
        });
        std::exit(0);
      },
      ::testing::ExitedWithCode(2), "fatal error: runtime.SetFinalizer: pointer not at beginning of allocated block");
}

TEST(FinalizerDeathTest, SecondFinalizerIsFatal) {
  EXPECT_EXIT(
      {
        gort::Run([] {
          auto o = New<Obj>(1);
          rt::SetFinalizer(o, [](Obj*) {});
          rt::SetFinalizer(o, [](Obj*) {});
        });
        std::exit(0);
      },
      ::testing::ExitedWithCode(2), "fatal error: runtime.SetFinalizer: finalizer already set");
}

TEST(FinalizerDeathTest, GlobalsAreAcceptedAndIgnored) {
  EXPECT_EXIT(
      {
        gort::Run([] {
          rt::SetFinalizer(&aGlobal, [](int*) { std::abort(); });
          rt::AddCleanup(&aGlobal, [](int) { std::abort(); }, 0).Stop();
          collect(3);
          std::fprintf(stderr, "ok\n");
        });
        std::exit(0);
      },
      ::testing::ExitedWithCode(0), "^ok\n$");
}

TEST(FinalizerDeathTest, PanickingFinalizerKillsTheProgram) {
  EXPECT_EXIT(
      {
        gort::Run([] {
          onDeadGoroutine([] { rt::SetFinalizer(New<Obj>(1), [](Obj*) { gort::panic(std::string("boom")); }); });
          collectUntil([] { return false; }, 8);  // the finalizer's panic ends the process first
        });
        std::exit(0);
      },
      ::testing::ExitedWithCode(2), "panic: boom");
}

TEST(WeakDeathTest, PointerOutsideTheHeapIsFatal) {
  EXPECT_EXIT(
      {
        gort::Run([] {
          auto* o = new Obj(1);
          auto w = gort::weak::Make(o);
          (void)w;
        });
        std::exit(0);
      },
      ::testing::ExitedWithCode(2), "fatal error: getWeakHandle on invalid pointer");
}

// ---- everything at once ----

class FinalStress : public ::testing::TestWithParam<int> {};

// GOGC as the parameter: at 5, allocation starts cycles all the time too.
TEST_P(FinalStress, ManyGoroutinesAllKindsAtOnce) {
  gort::Run([] {
    int oldPercent = gort::debug::SetGCPercent(GetParam());
    rt::GOMAXPROCS(4);
    static std::atomic<int> fins{0}, cleanups{0}, bad{0};
    fins = 0;
    cleanups = 0;
    bad = 0;
    constexpr int kG = 4, kRounds = 400, kPer = 30;
    Collector bg;
    gort::sync::WaitGroup wg;
    for (int g = 0; g < kG; g++) {
      wg.Add(1);
      gort::go([&] {
        rt::Pinner pin;
        for (int r = 0; r < kRounds; r++) {
          std::vector<Ptr<Obj>> keep;
          std::vector<gort::weak::Pointer<Obj>> ws;
          for (int i = 0; i < kPer; i++) {
            auto o = New<Obj>(i, New<Obj>(-1));
            rt::SetFinalizer(o, [](Ptr<Obj> p) {
              if (p->magic != kAlive || p->next->magic != kAlive) bad.fetch_add(1);
              fins.fetch_add(1);
            });
            rt::AddCleanup(&o->pad[0], [](int) { cleanups.fetch_add(1); }, i);
            ws.push_back(gort::weak::Make(o));
            if (i % 3 == 0) keep.push_back(o);
            if (i % 7 == 0) pin.Pin(o->next);
          }
          for (size_t i = 0; i < keep.size(); i++) {
            Ptr<Obj> v = ws[i * 3].Value();
            if (v != keep[i] || v->magic != kAlive || v->next->magic != kAlive) bad.fetch_add(1);
          }
          rt::Gosched();
        }
        pin.Unpin();
        wg.Done();
      });
    }
    wg.Wait();
    constexpr int kAll = kG * kRounds * kPer;
    EXPECT_TRUE(collectUntil([] { return fins.load() == kAll && cleanups.load() == kAll; }, 8))
        << fins.load() << " " << cleanups.load();
    EXPECT_EQ(bad.load(), 0);
    rt::GOMAXPROCS(1);
    gort::debug::SetGCPercent(oldPercent);
  });
}

INSTANTIATE_TEST_SUITE_P(GOGC, FinalStress, ::testing::Values(100, 5));

}  // namespace
