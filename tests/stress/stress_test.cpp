// Stress test of the scheduler's synchronisation at GOMAXPROCS 4 (the arm64
// port's proof under qemu-user, which runs guest threads truly in parallel
// on the host's cores; it runs in every build). On a weakly ordered CPU a
// missing barrier shows as stale data handed over, a count that loses an
// update, or an invariant seen broken, so every hand-off carries plain
// (non-atomic) data that the receiver checks:
//   - producers fill plain structs and send pointers to them through a
//     select over a buffered and an unbuffered channel; consumers select
//     over both, check each struct's contents and record it, under a
//     sync::Mutex, in a plain table: every item exactly once;
//   - a token circles a ring of goroutines over unbuffered channels;
//   - writers of a sync::RWMutex keep two plain fields equal, readers check;
//   - a spawner starts short goroutines that take the mutex and bump a
//     plain counter (goroutine creation, exit and stealing).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <vector>

#include "gort/chan.hpp"
#include "gort/go.hpp"
#include "gort/runtime.hpp"
#include "gort/select.hpp"
#include "gort/sync.hpp"

namespace {

#if defined(GORT_ASAN) || defined(GORT_TSAN)
constexpr int kScale = 4;  // instrumented builds run the same shape, smaller
#else
constexpr int kScale = 1;
#endif
constexpr int kProducers = 8;
constexpr int kConsumers = 6;
constexpr int kItems = 20000 / kScale;  // per producer
constexpr int kRing = 16;
constexpr int kLaps = 2000 / kScale;
constexpr int kReaders = 4;
constexpr int kWrites = 20000 / kScale;
constexpr int kSpawned = 20000 / kScale;

struct Item {
  int producer;
  int seq;
  uint64_t payload[6];
};

uint64_t expected(int producer, int seq, int k) {
  uint64_t x = uint64_t(producer) << 40 | uint64_t(seq) << 8 | uint64_t(k);
  return x * 0x9E3779B97F4A7C15ull;
}

class Stress : public ::testing::Test {
 protected:
  void SetUp() override { prev_ = gort::runtime::GOMAXPROCS(4); }
  void TearDown() override { gort::runtime::GOMAXPROCS(prev_); }

 private:
  int prev_ = 0;
};

// Producers and consumers over a select of a buffered and an unbuffered
// channel. Consumers record each item in seen and count those whose
// payload was wrong in bad.
void producersAndConsumers(gort::sync::Mutex* mu, std::vector<uint8_t>* seen, long* received, int* bad) {
  auto buffered = gort::make_chan<Item*>(8);
  auto unbuffered = gort::make_chan<Item*>();
  gort::sync::WaitGroup producers, consumers;
  for (int p = 0; p < kProducers; p++) {
    producers.Add(1);
    gort::go([=, &producers] {
      for (int s = 0; s < kItems; s++) {
        auto* it = new Item{p, s, {}};
        for (int k = 0; k < 6; k++) it->payload[k] = expected(p, s, k);
        gort::select(gort::send(buffered, it), gort::send(unbuffered, it));
      }
      producers.Done();
    });
  }
  for (int c = 0; c < kConsumers; c++) {
    consumers.Add(1);
    gort::go([=, &consumers] {
      gort::chan<Item*> b = buffered, u = unbuffered;  // nil once closed
      long n = 0;
      auto take = [&](Item* it) {
        int wrong = 0;
        for (int k = 0; k < 6; k++) wrong += it->payload[k] != expected(it->producer, it->seq, k);
        mu->Lock();
        *bad += wrong;
        uint8_t& slot = (*seen)[size_t(it->producer) * kItems + size_t(it->seq)];
        slot++;
        (*received)++;
        mu->Unlock();
        delete it;
        if (++n % 64 == 0) gort::runtime::Gosched();
      };
      while (b || u) {
        auto from = [&](gort::chan<Item*>& ch) {
          return [&](Item* it, bool ok) {
            if (ok) {
              take(it);
            } else {
              ch = nullptr;
            }
          };
        };
        gort::select(gort::recv(b, from(b)), gort::recv(u, from(u)));
      }
      consumers.Done();
    });
  }
  producers.Wait();
  gort::close(buffered);
  gort::close(unbuffered);
  consumers.Wait();
}

// A token passed kLaps times around a ring of kRing goroutines.
long tokenRing() {
  std::vector<gort::chan<long>> links;
  for (int i = 0; i < kRing; i++) links.push_back(gort::make_chan<long>());
  auto done = gort::make_chan<long>();
  for (int i = 0; i < kRing; i++) {
    gort::go([in = links[size_t(i)], out = links[size_t(i + 1) % kRing], done, i] {
      for (int lap = 0; lap < kLaps; lap++) {
        long t = in.recv() + 1;
        if (i == kRing - 1 && lap == kLaps - 1) {
          done.send(t);
        } else {
          out.send(t);
        }
      }
    });
  }
  links[0].send(0);
  return done.recv();
}

// Writers keep a == b under the write lock; returns how often a reader saw
// them differ.
int rwInvariant() {
  gort::sync::RWMutex rw;
  long a = 0, b = 0;  // plain: only the lock orders them
  std::atomic<bool> stop{false};
  std::atomic<int> broken{0};
  gort::sync::WaitGroup wg;
  for (int r = 0; r < kReaders; r++) {
    wg.Add(1);
    gort::go([&] {
      for (int n = 0; !stop.load(std::memory_order_relaxed); n++) {
        rw.RLock();
        if (a != b) broken.fetch_add(1, std::memory_order_relaxed);
        rw.RUnlock();
        if (n % 32 == 0) gort::runtime::Gosched();
      }
      wg.Done();
    });
  }
  for (int w = 0; w < kWrites; w++) {
    rw.Lock();
    a++;
    b++;
    rw.Unlock();
    if (w % 16 == 0) gort::runtime::Gosched();
  }
  stop = true;
  wg.Wait();
  return broken.load() + int(a != kWrites || b != kWrites);
}

TEST_F(Stress, ChannelsSelectMutexesAndSchedulerAtGomaxprocs4) {
  auto t0 = std::chrono::steady_clock::now();
  gort::sync::Mutex mu;
  std::vector<uint8_t> seen(size_t(kProducers) * kItems, 0);
  long received = 0, spawned = 0, token = 0;
  int bad = 0, rwBroken = 0;
  gort::Run([&] {
    gort::sync::WaitGroup all, churn;
    all.Add(3);
    gort::go([&] {
      producersAndConsumers(&mu, &seen, &received, &bad);
      all.Done();
    });
    gort::go([&] {
      token = tokenRing();
      all.Done();
    });
    gort::go([&] {
      rwBroken = rwInvariant();
      all.Done();
    });
    for (int i = 0; i < kSpawned; i++) {
      churn.Add(1);
      gort::go([&] {
        mu.Lock();
        spawned++;
        mu.Unlock();
        churn.Done();
      });
    }
    churn.Wait();
    all.Wait();
  });
  int missing = 0, duplicated = 0;
  for (uint8_t s : seen) {
    missing += s == 0;
    duplicated += s > 1;
  }
  EXPECT_EQ(bad, 0) << "payload words read stale";
  EXPECT_EQ(missing, 0);
  EXPECT_EQ(duplicated, 0);
  EXPECT_EQ(received, long(kProducers) * kItems);
  EXPECT_EQ(token, long(kRing) * kLaps);
  EXPECT_EQ(rwBroken, 0) << "a reader saw a writer's half update";
  EXPECT_EQ(spawned, kSpawned);
  std::printf("stress: %.2f s\n", std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
}

}  // namespace
