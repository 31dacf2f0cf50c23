// Channel and select semantics: ports of the semantic tests of Go's
// src/runtime/chan_test.go (each names the Go test it ports), the gort API
// surface (move-only and zero-size elements, directional views, try_send /
// try_recv, panics), a statistical test of select's fairness, and a check
// that the send/receive/select paths do not allocate. Every test runs at
// GOMAXPROCS 1, 2 and 4 and checks that no goroutine is left behind.
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <map>
#include <memory>
#include <new>
#include <span>
#include <string>
#include <vector>

#include "chan/chan_test_util.hpp"
#include "gort/panic.hpp"

// Allocation counting for NoHeapAllocationOnTheFastPaths: every operator new
// of this binary goes through here.
namespace {
std::atomic<long> allocations{0};
}
void* operator new(std::size_t n) {
  allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void* operator new(std::size_t n, std::align_val_t a) {
  allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::aligned_alloc(size_t(a), (n + size_t(a) - 1) / size_t(a) * size_t(a))) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }

namespace {

using chantest::ChanTest;
using chantest::kScale;
using chantest::sleepMs;
using chantest::Waiter;
using gort::chan;
using gort::make_chan;

// ---- ports of runtime/chan_test.go ----------------------------------------------------

// TestChan.
TEST_P(ChanTest, TestChan) {
  gort::Run([] {
    constexpr int N = 20;  // Go's -short value
    for (int chanCap = 0; chanCap < N; chanCap++) {
      {
        // Ensure that receive from empty chan blocks.
        auto c = make_chan<int>(chanCap);
        std::atomic<bool> recv1{false}, recv2{false};
        gort::go([c, &recv1] {
          c.recv();
          recv1 = true;
        });
        gort::go([c, &recv2] {
          c.recv2();
          recv2 = true;
        });
        sleepMs(1);
        ASSERT_FALSE(recv1 || recv2) << "chan[" << chanCap << "]: receive from empty chan";
        // Ensure that non-blocking receive does not block.
        gort::select(gort::recv(c, [&] { FAIL() << "receive from empty chan"; }), gort::default_());
        gort::select(gort::recv(c, [&](int, bool) { FAIL() << "receive from empty chan"; }), gort::default_());
        c.send(0);
        c.send(0);
        while (!recv1 || !recv2) gort::runtime::Gosched();
      }
      {
        // Ensure that send to full chan blocks.
        auto c = make_chan<int>(chanCap);
        for (int i = 0; i < chanCap; i++) c.send(i);
        std::atomic<uint32_t> sent{0};
        gort::go([c, &sent] {
          c.send(0);
          sent = 1;
        });
        sleepMs(1);
        ASSERT_EQ(sent.load(), 0u) << "chan[" << chanCap << "]: send to full chan";
        // Ensure that non-blocking send does not block.
        gort::select(gort::send(c, 0, [&] { FAIL() << "send to full chan"; }), gort::default_());
        c.recv();
        while (!sent) gort::runtime::Gosched();
      }
      {
        // Ensure that we receive 0 from closed chan.
        auto c = make_chan<int>(chanCap);
        for (int i = 0; i < chanCap; i++) c.send(i);
        gort::close(c);
        for (int i = 0; i < chanCap; i++) ASSERT_EQ(c.recv(), i);
        ASSERT_EQ(c.recv(), 0);
        auto [v, ok] = c.recv2();
        ASSERT_EQ(v, 0);
        ASSERT_FALSE(ok);
      }
      {
        // Ensure that close unblocks receive.
        auto c = make_chan<int>(chanCap);
        auto done = make_chan<bool>();
        gort::go([c, done] {
          auto [v, ok] = c.recv2();
          done.send(v == 0 && !ok);
        });
        sleepMs(1);
        gort::close(c);
        ASSERT_TRUE(done.recv()) << "chan[" << chanCap << "]: received non zero from closed chan";
      }
      {
        // Send 100 integers, ensure that we receive them non-corrupted in
        // FIFO order; the same with recv2; then 4 senders and 4 receivers.
        auto c = make_chan<int>(chanCap);
        gort::go([c] {
          for (int i = 0; i < 100; i++) c.send(i);
        });
        for (int i = 0; i < 100; i++) ASSERT_EQ(c.recv(), i);
        gort::go([c] {
          for (int i = 0; i < 100; i++) c.send(i);
        });
        for (int i = 0; i < 100; i++) {
          auto [v, ok] = c.recv2();
          ASSERT_TRUE(ok);
          ASSERT_EQ(v, i);
        }
        constexpr int P = 4, L = 1000;
        for (int p = 0; p < P; p++) {
          gort::go([c] {
            for (int i = 0; i < L; i++) c.send(i);
          });
        }
        auto done = make_chan<std::map<int, int>>();
        for (int p = 0; p < P; p++) {
          gort::go([c, done] {
            std::map<int, int> recv;
            for (int i = 0; i < L; i++) recv[c.recv()]++;
            done.send(std::move(recv));
          });
        }
        std::map<int, int> recv;
        for (int p = 0; p < P; p++) {
          for (auto [k, v] : done.recv()) recv[k] += v;
        }
        ASSERT_EQ(int(recv.size()), L);
        for (auto [k, v] : recv) ASSERT_EQ(v, P) << "value " << k;
      }
      {
        // Test len/cap.
        auto c = make_chan<int>(chanCap);
        ASSERT_EQ(gort::len(c), 0);
        ASSERT_EQ(gort::cap(c), chanCap);
        for (int i = 0; i < chanCap; i++) c.send(i);
        ASSERT_EQ(gort::len(c), chanCap);
        ASSERT_EQ(gort::cap(c), chanCap);
      }
    }
  });
}

// TestNonblockRecvRace.
TEST_P(ChanTest, TestNonblockRecvRace) {
  gort::Run([] {
    for (int i = 0; i < 1000 / kScale; i++) {
      auto c = make_chan<int>(1);
      c.send(1);
      Waiter w(1);
      gort::go([c, w] {
        gort::select(gort::recv(c), gort::default_([] { ADD_FAILURE() << "chan is not ready"; }));
        w.done();
      });
      gort::close(c);
      c.recv();
      w.wait();
    }
  });
}

// TestNonblockSelectRace: select acts on the channels' state at one moment:
// from the goroutine's creation on, c1 or c2 is always ready, so the default
// case must never run.
TEST_P(ChanTest, TestNonblockSelectRace) {
  gort::Run([] {
    auto done = make_chan<bool>(1);
    for (int i = 0; i < 10000 / kScale; i++) {
      auto c1 = make_chan<int>(1), c2 = make_chan<int>(1);
      c1.send(1);
      gort::go([c1, c2, done] {
        bool ok = true;
        gort::select(gort::recv(c1), gort::recv(c2), gort::default_([&] { ok = false; }));
        done.send(ok);
      });
      c2.send(1);
      gort::select(gort::recv(c1), gort::default_());
      ASSERT_TRUE(done.recv()) << "no chan is ready";
    }
  });
}

// TestNonblockSelectRace2: as above, with close(c2) for c2 <- 1.
TEST_P(ChanTest, TestNonblockSelectRace2) {
  gort::Run([] {
    auto done = make_chan<bool>(1);
    for (int i = 0; i < 10000 / kScale; i++) {
      auto c1 = make_chan<int>(1), c2 = make_chan<int>();
      c1.send(1);
      gort::go([c1, c2, done] {
        bool ok = true;
        gort::select(gort::recv(c1), gort::recv(c2), gort::default_([&] { ok = false; }));
        done.send(ok);
      });
      gort::close(c2);
      gort::select(gort::recv(c1), gort::default_());
      ASSERT_TRUE(done.recv()) << "no chan is ready";
    }
  });
}

// TestSelfSelect: send and receive on the same channel in one select
// neither crashes nor deadlocks, and an unbuffered select never receives its
// own value.
TEST_P(ChanTest, TestSelfSelect) {
  gort::Run([] {
    for (int chanCap : {0, 10}) {
      Waiter wg(2);
      auto c = make_chan<int>(chanCap);
      for (int p = 0; p < 2; p++) {
        gort::go([=] {
          for (int i = 0; i < 1000; i++) {
            auto check = [&](int v) {
              if (chanCap == 0 && v == p) ADD_FAILURE() << "self receive";
            };
            if (p == 0 || i % 2 == 0) {
              gort::select(gort::send(c, p), gort::recv(c, check));
            } else {
              gort::select(gort::recv(c, check), gort::send(c, p));
            }
          }
          wg.done();
        });
      }
      wg.wait();
    }
  });
}

// TestSelectStress: plain sends and receives and two selects over the same
// four channels interact chaotically without deadlock.
TEST_P(ChanTest, TestSelectStress) {
  gort::Run([] {
    chan<int> c[4] = {make_chan<int>(), make_chan<int>(), make_chan<int>(2), make_chan<int>(3)};
    const int N = 10000 / kScale;
    Waiter wg(10);
    for (int k = 0; k < 4; k++) {
      gort::go([=] {
        for (int i = 0; i < N; i++) c[k].send(0);
        wg.done();
      });
      gort::go([=] {
        for (int i = 0; i < N; i++) c[k].recv();
        wg.done();
      });
    }
    gort::go([=] {
      int n[4] = {};
      chan<int> c1[4] = {c[0], c[1], c[2], c[3]};
      auto sent = [&](int k) {
        return [&n, &c1, k, N] {
          if (++n[k] == N) c1[k] = nullptr;
        };
      };
      for (int i = 0; i < 4 * N; i++) {
        gort::select(gort::send(c1[3], 0, sent(3)), gort::send(c1[2], 0, sent(2)), gort::send(c1[0], 0, sent(0)),
                     gort::send(c1[1], 0, sent(1)));
      }
      wg.done();
    });
    gort::go([=] {
      int n[4] = {};
      chan<int> c1[4] = {c[0], c[1], c[2], c[3]};
      auto got = [&](int k) {
        return [&n, &c1, k, N] {
          if (++n[k] == N) c1[k] = nullptr;
        };
      };
      for (int i = 0; i < 4 * N; i++) {
        gort::select(gort::recv(c1[0], got(0)), gort::recv(c1[1], got(1)), gort::recv(c1[2], got(2)),
                     gort::recv(c1[3], got(3)));
      }
      wg.done();
    });
    wg.wait();
  });
}

// TestChanSendInterface (with a pointer element).
TEST_P(ChanTest, TestChanSendInterface) {
  gort::Run([] {
    struct mt {};
    auto m = std::make_shared<mt>();
    auto c = make_chan<std::shared_ptr<mt>>(1);
    c.send(m);
    gort::select(gort::send(c, m), gort::default_());
    gort::select(gort::send(c, m), gort::send(c, std::make_shared<mt>()), gort::default_());
  });
}

// TestPseudoRandomSend: a select of two sends on one channel picks both.
TEST_P(ChanTest, TestPseudoRandomSend) {
  gort::Run([] {
    constexpr int n = 100;
    for (int chanCap : {0, n}) {
      auto c = make_chan<int>(chanCap);
      std::vector<int> l(n);
      auto done = make_chan<int>();
      gort::go([c, done, &l] {
        for (int i = 0; i < n; i++) {
          gort::runtime::Gosched();
          l[size_t(i)] = c.recv();
        }
        done.send(0);
      });
      for (int i = 0; i < n; i++) gort::select(gort::send(c, 1), gort::send(c, 0));
      done.recv();
      int n0 = 0, n1 = 0;
      for (int i : l) {
        n0 += (i + 1) % 2;
        n1 += i;
      }
      EXPECT_GT(n0, n / 10) << "want pseudorandom, chan cap " << chanCap;
      EXPECT_GT(n1, n / 10) << "want pseudorandom, chan cap " << chanCap;
    }
  });
}

// TestMultiConsumer: 23 workers range over one channel; nothing is lost.
TEST_P(ChanTest, TestMultiConsumer) {
  gort::Run([] {
    constexpr int nwork = 23;
    const int niter = 271828 / kScale;
    static const int pn[] = {2, 3, 7, 11, 13, 17, 19, 23, 27, 31};
    auto q = make_chan<int>(nwork * 3), r = make_chan<int>(nwork * 3);
    Waiter wg(nwork);
    for (int i = 0; i < nwork; i++) {
      gort::go([=](int w) {
        for (int v : q) {
          // Mess with the fifo-ish nature of range.
          if (pn[w % 10] == v) gort::runtime::Gosched();
          r.send(v);
        }
        wg.done();
      }, i);
    }
    std::atomic<long> expect{0};
    gort::go([=, &expect] {
      for (int i = 0; i < niter; i++) {
        int v = pn[i % 10];
        expect += v;
        q.send(v);
      }
      gort::close(q);  // no more work
      wg.wait();       // workers done
      gort::close(r);  // ... so there can be no more results
    });
    long n = 0, s = 0;
    for (int v : r) {
      n++;
      s += v;
    }
    EXPECT_EQ(n, niter);
    EXPECT_EQ(s, expect.load());
  });
}

// TestSelectDuplicateChannel: a G can be queued on the same channel several
// times, and dequeuing itself must not corrupt the queue.
TEST_P(ChanTest, TestSelectDuplicateChannel) {
  gort::Run([] {
    auto c = make_chan<int>(), d = make_chan<int>(), e = make_chan<int>();
    gort::go([=] {  // goroutine A
      gort::select(gort::recv(c), gort::recv(c), gort::recv(d));
      e.send(9);
    });
    sleepMs(1);  // make sure goroutine A gets queued first on c
    auto bdone = make_chan<int>();
    gort::go([=] {  // goroutine B
      c.recv();
      bdone.send(0);
    });
    sleepMs(1);  // make sure goroutine B gets queued on c before continuing
    d.send(7);   // wake up A, it dequeues itself from c
    e.recv();    // A tells us it's done
    c.send(8);   // wake up B (c.recvq must not be corrupted)
    bdone.recv();
  });
}

// TestSelectFairness: with two channels always ready (and two never), each
// is chosen about half the time: within 4.5 sigma of 0.5 over 10000 trials.
TEST_P(ChanTest, TestSelectFairness) {
  gort::Run([] {
    constexpr int trials = 10000;
    auto c1 = make_chan<uint8_t>(trials + 1), c2 = make_chan<uint8_t>(trials + 1);
    for (int i = 0; i < trials + 1; i++) {
      c1.send(1);
      c2.send(2);
    }
    auto c3 = make_chan<uint8_t>(), c4 = make_chan<uint8_t>();
    auto out = make_chan<uint8_t>(), done = make_chan<uint8_t>();
    Waiter wg(1);
    gort::go([=] {
      for (bool more = true; more;) {
        uint8_t b = 0;
        auto take = [&b](uint8_t v) { b = v; };
        gort::select(gort::recv(c3, take), gort::recv(c4, take), gort::recv(c1, take), gort::recv(c2, take));
        gort::select(gort::send(out, b), gort::recv(done, [&] { more = false; }));
      }
      wg.done();
    });
    int cnt1 = 0, cnt2 = 0;
    for (int i = 0; i < trials; i++) {
      switch (uint8_t b = out.recv()) {
        case 1: cnt1++; break;
        case 2: cnt2++; break;
        default: FAIL() << "unexpected value " << int(b) << " on channel";
      }
    }
    double r = double(cnt1) / trials;
    EXPECT_LE(std::abs(r - 0.5), 4.5 / std::sqrt(double(trials)))
        << "unfair select: in " << trials << " trials, results were " << cnt1 << ", " << cnt2;
    gort::close(done);
    wg.wait();
  });
}

// ---- gort: fairness among many ready cases ---------------------------------------------

// Five always-ready cases (one a duplicate channel, one a send), 50000
// selects: a chi-square test of uniformity with 4 degrees of freedom; 30 is
// beyond the 0.9999 quantile (23.5), so a fair select fails it about once in
// 10^5 runs. The default is never taken while cases are ready.
TEST_P(ChanTest, SelectChoosesUniformlyAmongReadyCases) {
  gort::Run([] {
    constexpr int trials = 50000 / kScale, k = 5;
    auto a = make_chan<int>(1), b = make_chan<int>(1), c = make_chan<int>(1), s = make_chan<int>(1);
    int count[k] = {};
    for (int i = 0; i < trials; i++) {
      for (auto* ch : {&a, &b, &c}) ch->try_send(1);
      int chosen = gort::select(gort::recv(a), gort::recv(b), gort::recv(c), gort::recv(a), gort::send(s, 1),
                                gort::default_());
      ASSERT_LT(chosen, k) << "default chosen with ready cases";
      count[chosen]++;
      s.try_recv();
    }
    double expect = double(trials) / k, chi2 = 0;
    for (int n : count) chi2 += (n - expect) * (n - expect) / expect;
    EXPECT_LT(chi2, 30.0) << count[0] << " " << count[1] << " " << count[2] << " " << count[3] << " " << count[4];
  });
}

// ---- select over cases built at run time (reflect.Select) -----------------------------

// Eight always-ready receive cases built in a loop, 40000 selects: chi-square
// with 7 degrees of freedom; 40 is beyond the 0.9999 quantile (29.9).
TEST_P(ChanTest, RuntimeSelectChoosesUniformlyAmongReadyCases) {
  gort::Run([] {
    constexpr int trials = 40000 / kScale, k = 8;
    std::vector<chan<int>> ins;
    std::vector<gort::select_case> cases;
    int got = -1;
    for (int i = 0; i < k; i++) {
      ins.push_back(make_chan<int>(1));
      cases.emplace_back(gort::recv(ins.back(), [&got](int v) { got = v; }));
    }
    int count[k] = {};
    for (int i = 0; i < trials; i++) {
      for (int j = 0; j < k; j++) ins[size_t(j)].try_send(j);
      int chosen = gort::select(cases);
      ASSERT_EQ(got, chosen) << "the chosen case's handler ran with its channel's value";
      count[chosen]++;
    }
    double expect = double(trials) / k, chi2 = 0;
    for (int n : count) chi2 += (n - expect) * (n - expect) / expect;
    EXPECT_LT(chi2, 40.0);
  });
}

// Sends, receives (with ok), nil channels and a default, in any order; the
// index returned is the case's position in the span.
TEST_P(ChanTest, RuntimeSelectMixesSendsReceivesAndDefault) {
  gort::Run([] {
    auto full = make_chan<int>(1), room = make_chan<int>(1), closed = make_chan<int>(), idle = make_chan<int>();
    full.send(7);
    gort::close(closed);
    chan<int> nil;
    std::string ran;
    std::vector<gort::select_case> cases;
    cases.emplace_back(gort::recv(nil, [&] { ran += "nil"; }));
    cases.emplace_back(gort::default_([&] { ran += "default"; }));
    cases.emplace_back(gort::recv(idle, [&] { ran += "idle"; }));
    EXPECT_EQ(gort::select(cases), 1);
    EXPECT_EQ(ran, "default");
    cases.emplace_back(gort::send(room, 5, [&] { ran = "sent"; }));
    EXPECT_EQ(gort::select(cases), 3);
    EXPECT_EQ(ran, "sent");
    EXPECT_EQ(room.recv(), 5);
    std::vector<gort::select_case> recvs;
    int v = -1;
    bool ok = true;
    recvs.emplace_back(gort::recv(full, [&](int x, bool k) { v = x, ok = k; }));
    EXPECT_EQ(gort::select(recvs), 0);
    EXPECT_EQ(v, 7);
    EXPECT_TRUE(ok);
    recvs.emplace_back(gort::recv(closed, [&](int x, bool k) { v = x, ok = k; }));
    EXPECT_EQ(gort::select(recvs), 1);  // full is empty now: only the closed channel is ready
    EXPECT_EQ(v, 0);
    EXPECT_FALSE(ok);
  });
}

// A blocked run-time select parks until a partner arrives, is woken by exactly
// one case, and its cases keep their channels alive after the handles go.
TEST_P(ChanTest, RuntimeSelectParksAndKeepsItsChannels) {
  gort::Run([] {
    constexpr int n = 16;
    std::vector<gort::select_case> cases;
    std::vector<chan<int>> ins;
    int sum = 0;
    for (int i = 0; i < n; i++) {
      ins.push_back(make_chan<int>());
      cases.emplace_back(gort::recv(ins.back(), [&sum](int v) { sum += v; }));
    }
    auto senders = ins;
    ins.clear();  // only the cases and the senders' copies hold the channels now
    for (int i = 0; i < n; i++) {
      gort::go([c = senders[size_t(i)], i] {
        sleepMs(i % 3);
        c.send(i);
      });
    }
    senders.clear();
    for (int i = 0; i < n; i++) gort::select(cases);
    EXPECT_EQ(sum, n * (n - 1) / 2);
  });
}

TEST_P(ChanTest, RuntimeSelectRejectsBadCaseListsAndBlocksWithNoCases) {
  gort::Run([] {
    std::vector<gort::select_case> cases;
    cases.emplace_back(gort::default_());
    cases.emplace_back(gort::default_());
    try {
      gort::select(cases);
      ADD_FAILURE() << "no panic";
    } catch (const gort::PanicException& e) {
      EXPECT_EQ(e.message(), "panic: select: multiple default cases\n");
    }
    auto c = make_chan<int>();
    std::vector<gort::select_case> many;
    for (int i = 0; i <= 65536; i++) many.emplace_back(gort::recv(c));
    try {
      gort::select(many);
      ADD_FAILURE() << "no panic";
    } catch (const gort::PanicException& e) {
      EXPECT_EQ(e.message(), "panic: select: too many cases (max 65536)\n");
    }
    auto returned = std::make_shared<std::atomic<bool>>(false);
    gort::go([returned] {
      gort::select(std::span<gort::select_case>());
      returned->store(true);
    });
    sleepMs(5);
    EXPECT_FALSE(returned->load());
  });
  expectParkedForever(1);
}

// ---- gort API --------------------------------------------------------------------------

TEST_P(ChanTest, MoveOnlyElementsAreHandedOverIntact) {
  gort::Run([] {
    for (int chanCap : {0, 1, 4}) {
      auto c = make_chan<std::unique_ptr<std::string>>(chanCap);
      gort::go([c] {
        for (int i = 0; i < 100; i++) c.send(std::make_unique<std::string>(std::to_string(i)));
        gort::close(c);
      });
      int i = 0;
      for (auto p : c) ASSERT_EQ(*p, std::to_string(i++));
      EXPECT_EQ(i, 100);
      EXPECT_EQ(c.recv(), nullptr);  // zero value after close
    }
  });
}

// Elements left in a buffer are destroyed with the channel's last handle.
TEST_P(ChanTest, BufferedElementsAreDestroyedWithTheChannel) {
  gort::Run([] {
    auto p = std::make_shared<int>(7);
    {
      auto c = make_chan<std::shared_ptr<int>>(3);
      c.send(p);
      c.send(p);
      auto copy = c;
      EXPECT_EQ(p.use_count(), 3);
    }
    EXPECT_EQ(p.use_count(), 1);
  });
}

// Zero-size elements (Go's struct{}) and test/chan/zerosize.go.
TEST_P(ChanTest, ZeroSizeElements) {
  gort::Run([] {
    struct Empty {};
    static_assert(gort::internal::kZeroSize<Empty>);
    auto c = make_chan<Empty>(2);
    c.send(Empty{});
    c.send(Empty{});
    EXPECT_EQ(gort::len(c), 2);
    EXPECT_FALSE(c.try_send(Empty{}));
    auto u = make_chan<Empty>();
    gort::go([u] { u.send(Empty{}); });
    u.recv();
    int got = 0;
    gort::select(gort::recv(c, [&](Empty, bool ok) { got += ok; }), gort::recv(u));
    EXPECT_EQ(got, 1);
  });
}

TEST_P(ChanTest, TrySendAndTryRecv) {
  gort::Run([] {
    auto c = make_chan<int>(1);
    EXPECT_FALSE(c.try_recv().has_value());
    EXPECT_TRUE(c.try_send(5));
    EXPECT_FALSE(c.try_send(6));
    auto r = c.try_recv();
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->first, 5);
    EXPECT_TRUE(r->second);
    // A move-only value is moved from only when the send happens.
    auto m = make_chan<std::unique_ptr<int>>();
    auto p = std::make_unique<int>(1);
    EXPECT_FALSE(m.try_send(std::move(p)));
    EXPECT_NE(p, nullptr);
    gort::close(c);
    r = c.try_recv();
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->first, 0);
    EXPECT_FALSE(r->second);
    chan<int> nil;
    EXPECT_FALSE(nil.try_send(1));
    EXPECT_FALSE(nil.try_recv().has_value());
  });
}

TEST_P(ChanTest, DirectionalViewsShareTheChannel) {
  gort::Run([] {
    auto c = make_chan<int>();
    gort::send_only<int> out = c;
    gort::recv_only<int> in = c;
    EXPECT_TRUE(out == c && in == c);
    gort::go([out] {
      for (int i = 0; i < 3; i++) out.send(i);
      gort::close(out);
    });
    int sum = 0;
    for (int v : in) sum += v;
    EXPECT_EQ(sum, 3);
    gort::select(gort::recv(in, [](int v, bool ok) { EXPECT_FALSE(ok || v); }));
  });
}

TEST_P(ChanTest, NilChannelIsDefaultAndComparesEqual) {
  gort::Run([] {
    chan<int> a, b = nullptr;
    EXPECT_TRUE(a == b);
    EXPECT_FALSE(a);
    EXPECT_EQ(gort::len(a), 0);
    EXPECT_EQ(gort::cap(a), 0);
    auto c = make_chan<int>(), d = c;
    EXPECT_TRUE(c == d);
    EXPECT_FALSE(c == make_chan<int>());
  });
}

// Go's run-time panics, with Go's messages; a panicking operation leaves the
// channel usable.
TEST_P(ChanTest, PanicsCarryGosMessages) {
  gort::Run([] {
    auto expectPanic = [](auto f, const char* msg) {
      try {
        f();
        ADD_FAILURE() << "no panic, want " << msg;
      } catch (const gort::runtime::PlainError& e) {
        EXPECT_STREQ(e.what(), msg);
      }
    };
    chan<int> nil;
    expectPanic([&] { gort::close(nil); }, "close of nil channel");
    auto c = make_chan<int>(1);
    gort::close(c);
    expectPanic([&] { gort::close(c); }, "close of closed channel");
    expectPanic([&] { c.send(1); }, "send on closed channel");
    expectPanic([&] { c.try_send(1); }, "send on closed channel");
    expectPanic([&] { gort::select(gort::send(c, 1), gort::recv(nil)); }, "send on closed channel");
    expectPanic([] { make_chan<int>(-1); }, "makechan: size out of range");
    // A blocked sender panics when the channel is closed under it.
    for (int chanCap : {0, 1}) {
      auto d = make_chan<int>(chanCap);
      if (chanCap) d.send(0);
      auto res = make_chan<std::string>(2);
      gort::go([d, res] {
        try {
          d.send(1);
          res.send("sent");
        } catch (const gort::runtime::PlainError& e) {
          res.send(e.what());
        }
      });
      gort::go([d, res, nil] {
        try {
          gort::select(gort::send(d, 2), gort::recv(nil));
          res.send("sent");
        } catch (const gort::runtime::PlainError& e) {
          res.send(e.what());
        }
      });
      sleepMs(2);
      gort::close(d);
      EXPECT_EQ(res.recv(), "send on closed channel");
      EXPECT_EQ(res.recv(), "send on closed channel");
    }
  });
}

// Closing wakes every waiter: receivers and selects get the zero value.
TEST_P(ChanTest, CloseWakesEveryWaiter) {
  gort::Run([] {
    constexpr int n = 50;
    auto c = make_chan<int>();
    auto other = make_chan<int>();
    auto res = make_chan<int>(2 * n);
    for (int i = 0; i < n; i++) {
      gort::go([=] {
        auto [v, ok] = c.recv2();
        res.send(v + ok);
      });
      gort::go([=] { gort::select(gort::recv(other), gort::recv(c, [&](int v, bool ok) { res.send(v + ok + 10); })); });
    }
    sleepMs(2);
    gort::close(c);
    int plain = 0, sel = 0;
    for (int i = 0; i < 2 * n; i++) {
      int r = res.recv();
      (r == 0 ? plain : r == 10 ? sel : r) += 1;
    }
    EXPECT_EQ(plain, n);
    EXPECT_EQ(sel, n);
  });
}

// Memory model: the k-th receive on a channel of capacity C happens before
// the (k+C)-th send completes (a buffered channel as a counting semaphore),
// a send happens before its receive completes, an unbuffered receive before
// its send completes, and a close before a receive that sees it. TSan checks
// it in the sanitizer build: the plain ints are only touched in these orders.
TEST_P(ChanTest, ChannelsOrderPlainMemory) {
  gort::Run([] {
    constexpr int workers = 12;
    auto sem = make_chan<int>(1);
    auto done = make_chan<int>();
    int counter = 0;
    for (int w = 0; w < workers; w++) {
      gort::go([=, &counter] {
        sem.send(0);  // acquire
        counter++;
        sem.recv();  // release
        done.send(0);
      });
    }
    for (int w = 0; w < workers; w++) done.recv();
    EXPECT_EQ(counter, workers);
    int data = 0;
    auto u = make_chan<int>();
    gort::go([&data, u] {
      data = 42;
      u.send(0);
    });
    u.recv();
    EXPECT_EQ(data, 42);
    gort::go([&data, u] {
      data = 43;
      u.recv();
    });
    u.send(0);
    EXPECT_EQ(data, 43);
    auto closed = make_chan<int>();
    gort::go([&data, closed] {
      data++;
      gort::close(closed);
    });
    closed.recv();
    EXPECT_EQ(data, 44);
  });
}

// A G that parks right after readying its partner switches straight to it
// (the scheduler's direct hand-off). Each side's exception state must travel
// with it: both sides ping-pong from inside catch blocks and rethrow after.
// The partners start fresh, so the first hand-off starts a new goroutine.
TEST_P(ChanTest, HandOffKeepsEachGoroutinesExceptionState) {
  gort::Run([] {
    auto ping = make_chan<int>(), pong = make_chan<int>();
    auto done = make_chan<bool>(2);
    auto side = [done](chan<int> in, chan<int> out, bool first, const char* name) {
      bool ok = false;
      try {
        throw std::runtime_error(name);
      } catch (...) {
        for (int i = 0; i < 1000 / kScale; i++) {
          if (first) {
            out.send(i);
            ok = in.recv() == i;
          } else {
            ok = in.recv() == i;
            out.send(i);
          }
          if (!ok) break;
        }
        try {
          throw;
        } catch (const std::runtime_error& e) {
          ok = ok && std::string(e.what()) == name && std::uncaught_exceptions() == 0;
        }
      }
      done.send(ok);
    };
    for (int round = 0; round < 20; round++) {
      gort::go(side, ping, pong, true, "a");
      gort::go(side, pong, ping, false, "b");
      EXPECT_TRUE(done.recv());
      EXPECT_TRUE(done.recv());
    }
  });
}

// select2.go, and the "no heap allocation on the fast paths" rule: once warm,
// sends, receives (direct hand-off, buffered and blocking) and selects
// allocate nothing.
TEST_P(ChanTest, NoHeapAllocationOnTheFastPaths) {
#if defined(GORT_RANDOMIZE_SCHED)
  // Sanitizer builds move goroutines between Ps at random, so per-P caches
  // (sudogs) warm up at random too: the count means nothing there.
  GTEST_SKIP() << "allocation counts are only meaningful without scheduler randomisation";
#endif
  gort::Run([] {
    auto c = make_chan<int>(), dummy = make_chan<int>(), b = make_chan<int>(8);
    auto work = [&](int n) {
      gort::go([c, n] {
        for (int i = 0; i < n; i++) c.send(1);
      });
      for (int i = 0; i < n; i++) {
        gort::select(gort::recv(c), gort::recv(dummy, [] { ADD_FAILURE() << "dummy"; }));
        b.send(i);
        b.recv();
        gort::select(gort::recv(b), gort::default_());
      }
    };
    work(1000);  // warm up: sudog caches, g free list, stacks
    gort::runtime::Gosched();
    long before = allocations.load();
    work(10000);
    long after = allocations.load();
    // 10000 iterations of a dozen channel operations: one allocation per
    // operation would be 100000. The slack covers what the scheduler may
    // allocate meanwhile under load (a new M: its m, g0 and a sudog cache).
    EXPECT_LE(after - before, 8) << "allocations on channel fast paths";
  });
}

INSTANTIATE_TEST_SUITE_P(Procs, ChanTest, ::testing::Values(1, 2, 4));

// ---- fatal paths: small programs meant to die, checked against Go 1.19 ------------------

class ChanDeathTest : public ::testing::Test {
 protected:
  void SetUp() override { GTEST_FLAG_SET(death_test_style, "threadsafe"); }
};

// A goroutine blocked on a nil channel, or in select {}, counts for deadlock
// detection and shows its wait reason in the dump, as in Go.
void nilRecvMain() { chan<int>().recv(); }
void nilSendMain() { chan<int>().send(1); }
void emptySelectMain() { gort::select(); }
void blockedRecvMain() { make_chan<int>().recv(); }
void blockedSendMain() { make_chan<int>().send(1); }
void blockedSelectMain() {
  auto c = make_chan<int>(), d = make_chan<int>();
  gort::select(gort::recv(c), gort::send(d, 1));
}
void sendOnClosedMain() {
  auto c = make_chan<int>(1);
  gort::close(c);
  c.send(1);
}
void closeNilMain() { gort::close(chan<int>()); }

constexpr const char* kDeadlock = "fatal error: all goroutines are asleep - deadlock!\n\ngoroutine 1 ";

TEST_F(ChanDeathTest, ReceiveFromNilChannelDeadlocks) {
  EXPECT_EXIT(gort::Main(0, nullptr, nilRecvMain), ::testing::ExitedWithCode(2),
              std::string(kDeadlock) + "\\[chan receive \\(nil chan\\)\\]:");
}
TEST_F(ChanDeathTest, SendToNilChannelDeadlocks) {
  EXPECT_EXIT(gort::Main(0, nullptr, nilSendMain), ::testing::ExitedWithCode(2),
              std::string(kDeadlock) + "\\[chan send \\(nil chan\\)\\]:");
}
TEST_F(ChanDeathTest, EmptySelectDeadlocks) {
  EXPECT_EXIT(gort::Main(0, nullptr, emptySelectMain), ::testing::ExitedWithCode(2),
              std::string(kDeadlock) + "\\[select \\(no cases\\)\\]:");
}
TEST_F(ChanDeathTest, BlockedOperationsDeadlockWithTheirWaitReason) {
  EXPECT_EXIT(gort::Main(0, nullptr, blockedRecvMain), ::testing::ExitedWithCode(2),
              std::string(kDeadlock) + "\\[chan receive\\]:");
  EXPECT_EXIT(gort::Main(0, nullptr, blockedSendMain), ::testing::ExitedWithCode(2),
              std::string(kDeadlock) + "\\[chan send\\]:");
  EXPECT_EXIT(gort::Main(0, nullptr, blockedSelectMain), ::testing::ExitedWithCode(2),
              std::string(kDeadlock) + "\\[select\\]:");
}
TEST_F(ChanDeathTest, UnrecoveredChannelPanicsPrintGosReport) {
  EXPECT_EXIT(gort::Main(0, nullptr, sendOnClosedMain), ::testing::ExitedWithCode(2),
              "panic: send on closed channel\n\ngoroutine 1 \\[running\\]:");
  EXPECT_EXIT(gort::Main(0, nullptr, closeNilMain), ::testing::ExitedWithCode(2),
              "panic: close of nil channel\n\ngoroutine 1 \\[running\\]:");
}

}  // namespace
