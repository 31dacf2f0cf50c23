// Ports of Go's test/chan programs (golang/go test/chan/*.go), one test per
// program, each naming what it ports. Differences from the originals: the
// programs that leave goroutines running forever (sieves, generators) get a
// quit channel so the leak check holds; sizes are reduced where noted; and
// select cases take their handlers as lambdas. Run at GOMAXPROCS 1, 2, 4.
#include <algorithm>
#include <deque>
#include <functional>
#include <optional>
#include <queue>
#include <set>
#include <string>
#include <vector>

#include "chan/chan_test_util.hpp"

namespace {

using chantest::ChanTest;
using chantest::kScale;
using chantest::sleepMs;
using gort::chan;
using gort::make_chan;
using gort::recv_only;
using gort::send_only;

// ---- doubleselect.go --------------------------------------------------------------------
// Two cases of one select must never both run: the sender's value would
// reach the receiver twice.
TEST_P(ChanTest, DoubleSelect) {
  gort::Run([] {
    const int iterations = 20000 / kScale;  // Go: 100000
    auto c1 = make_chan<int>(), c2 = make_chan<int>(), c3 = make_chan<int>(), c4 = make_chan<int>();
    auto cmux = make_chan<int>();
    auto done = make_chan<bool>();
    gort::go([=] {  // sender
      for (int i = 0; i < iterations; i++) {
        gort::select(gort::send(c1, i), gort::send(c2, i), gort::send(c3, i), gort::send(c4, i));
      }
      for (auto& c : {c1, c2, c3, c4}) gort::close(c);
    });
    auto mux = [](send_only<int> out, recv_only<int> in, send_only<bool> done) {
      for (int v : in) out.send(v);
      done.send(true);
    };
    for (auto& c : {c1, c2, c3, c4}) gort::go(mux, send_only<int>(cmux), recv_only<int>(c), send_only<bool>(done));
    gort::go([=] {
      for (int i = 0; i < 4; i++) done.recv();
      gort::close(cmux);
    });
    std::set<int> seen;  // recver
    for (int v : cmux) ASSERT_TRUE(seen.insert(v).second) << "got duplicate value: " << v;
    EXPECT_EQ(int(seen.size()), iterations);
  });
}

// ---- fifo.go ----------------------------------------------------------------------------
// Buffered channels are FIFOs; so is an unbuffered channel whose receivers
// are chained to take their turns in order.
TEST_P(ChanTest, Fifo) {
  gort::Run([] {
    constexpr int N = 10;
    auto ch = make_chan<int>(N);  // AsynchFifo
    for (int i = 0; i < N; i++) ch.send(i);
    for (int i = 0; i < N; i++) ASSERT_EQ(ch.recv(), i) << "bad receive";

    auto sch = make_chan<int>();  // SynchFifo
    auto in = make_chan<int>();
    auto start = in;
    for (int i = 0; i < N; i++) {
      auto out = make_chan<int>();
      gort::go([](recv_only<int> ch, int val, recv_only<int> in, send_only<int> out) {
        in.recv();
        EXPECT_EQ(ch.recv(), val);
        out.send(1);
      }, recv_only<int>(sch), i, recv_only<int>(in), send_only<int>(out));
      in = out;
    }
    start.send(0);
    for (int i = 0; i < N; i++) sch.send(i);
    in.recv();
  });
}

// ---- goroutines.go ----------------------------------------------------------------------
// Many goroutines threaded together by channels, torn down cleanly.
TEST_P(ChanTest, Goroutines) {
  gort::Run([] {
    const int n = 10000 / kScale;
    auto leftmost = make_chan<int>();
    auto right = leftmost, left = leftmost;
    for (int i = 0; i < n; i++) {
      right = make_chan<int>();
      gort::go([](chan<int> left, chan<int> right) { left.send(right.recv()); }, left, right);
      left = right;
    }
    gort::go([](chan<int> c) { c.send(1); }, right);
    EXPECT_EQ(leftmost.recv(), 1);
  });
}

// ---- nonblock.go ------------------------------------------------------------------------
// Non-blocking sends and receives of several element types succeed once a
// partner is there (retrying with short sleeps), buffered and unbuffered.
template <class T>
void nonblockRound(int buffer, T sendv, T recvv) {
  constexpr int maxTries = 10000;
  auto sleep = [] {
    gort::time::Sleep(gort::time::Microsecond * 10);
    for (int i = 0; i < 3; i++) gort::runtime::Gosched();
  };
  auto sync = make_chan<bool>();
  auto c = make_chan<T>(buffer);
  bool blocked = true;
  gort::select(gort::recv(c, [&] { blocked = false; }), gort::default_());
  ASSERT_TRUE(blocked) << "receive from empty channel did not block";

  gort::go([=] {  // receiver
    EXPECT_EQ(c.recv(), recvv);
    sync.send(true);
  });
  for (int tries = 0; !c.try_send(T(recvv)); tries++) {
    ASSERT_LT(tries, maxTries) << "receiver buffer=" << buffer;
    sleep();
  }
  sync.recv();

  gort::go([=] {  // sender
    c.send(T(sendv));
    sync.send(true);
  });
  if (buffer > 0) sync.recv();
  std::optional<std::pair<T, bool>> r;
  for (int tries = 0; !(r = c.try_recv()); tries++) {
    ASSERT_LT(tries, maxTries) << "sender buffer=" << buffer;
    sleep();
  }
  EXPECT_TRUE(r->second);
  EXPECT_EQ(r->first, sendv);
  if (buffer == 0) sync.recv();
}

TEST_P(ChanTest, Nonblock) {
  gort::Run([] {
    for (int buffer = 0; buffer < 2; buffer++) {
      nonblockRound<int32_t>(buffer, 234, 123);
      nonblockRound<int64_t>(buffer, 234567, 123456);
      nonblockRound<bool>(buffer, true, true);
      nonblockRound<std::string>(buffer, "hello again", "hello");
    }
  });
}

// ---- select.go --------------------------------------------------------------------------
// Send values are evaluated once per select whatever case runs; a case on a
// nil channel never runs; default runs when nothing is ready.
TEST_P(ChanTest, Select) {
  gort::Run([] {
    unsigned counter = 0, shift = 0;
    auto GetValue = [&] {
      counter++;
      return 1u << shift;
    };
    auto Send = [&](chan<unsigned> a, chan<unsigned> b) {
      int i = 0;
      for (bool loop = true; loop;) {
        gort::select(gort::send(a, GetValue(), [&] { i++, a = nullptr; }),
                     gort::send(b, GetValue(), [&] { i++, b = nullptr; }), gort::default_([&] { loop = false; }));
        if (loop) shift++;
      }
      return i;
    };
    auto a = make_chan<unsigned>(1), b = make_chan<unsigned>(1);
    EXPECT_EQ(Send(a, b), 2);
    unsigned av = a.recv(), bv = b.recv();
    EXPECT_EQ(av | bv, 3u);
    EXPECT_EQ(Send(a, nullptr), 1);
    EXPECT_EQ(counter, 10u);
  });
}

// ---- select2.go -------------------------------------------------------------------------
// Selects do not consume memory: see NoHeapAllocationOnTheFastPaths in
// chan_test.cpp, which counts every operator new across 10000 selects.

// ---- select3.go -------------------------------------------------------------------------
// Which operations block (always) and which never do, and which panic.
class Select3 {
 public:
  // Runs f on a goroutine; reports whether it was still blocked after
  // 100 ms. A blocked f must be released by the caller (or stays parked).
  static bool blocks(std::function<void()> f) {
    auto c = make_chan<bool>(2);
    gort::go([f, c] {
      f();
      c.send(false);  // f didn't block
    });
    gort::go([c] {
      sleepMs(100);
      c.send(true);  // f blocked
    });
    return c.recv();
  }
  static bool panics(const std::function<void()>& f) {
    try {
      f();
    } catch (const gort::runtime::PlainError&) {
      return true;
    }
    return false;
  }
};

TEST_P(ChanTest, Select3) {
  int parked = 0;
  gort::Run([&parked] {
    constexpr int async = 1;
    chan<int> nilch;
    auto closedch = make_chan<int>();
    gort::close(closedch);
    auto unreachable = [] { ADD_FAILURE() << "control flow shouldn't reach here"; };

    // Sending/receiving from a nil channel blocks (for ever).
    EXPECT_TRUE(Select3::blocks([=] { nilch.send(7); }));
    EXPECT_TRUE(Select3::blocks([=] { nilch.recv(); }));
    parked += 2;
    // ... and inside a select is never selected.
    EXPECT_FALSE(Select3::panics([&] { gort::select(gort::send(nilch, 7, unreachable), gort::default_()); }));
    EXPECT_FALSE(Select3::panics([&] { gort::select(gort::recv(nilch, unreachable), gort::default_()); }));
    // Sending to an async channel with free buffer space never blocks.
    EXPECT_FALSE(Select3::blocks([] { make_chan<int>(async).send(7); }));
    // Receiving from a closed channel never blocks.
    EXPECT_FALSE(Select3::blocks([=] {
      for (int i = 0; i < 10; i++) {
        EXPECT_EQ(closedch.recv(), 0) << "expected zero value when reading from closed channel";
        auto [x, ok] = closedch.recv2();
        EXPECT_TRUE(x == 0 && !ok) << "expected 0, false from closed channel";
      }
    }));
    // Sending to a closed channel panics.
    EXPECT_TRUE(Select3::panics([=] { closedch.send(7); }));
    // Receiving from a non-ready channel always blocks.
    auto ch = make_chan<int>();
    EXPECT_TRUE(Select3::blocks([=] { ch.recv(); }));
    ch.send(0);  // release it
    // Empty selects always block.
    EXPECT_TRUE(Select3::blocks([] { gort::select(); }));
    // Selects with only nil channels always block.
    EXPECT_TRUE(Select3::blocks([=] { gort::select(gort::recv(nilch, unreachable)); }));
    EXPECT_TRUE(Select3::blocks([=] { gort::select(gort::send(nilch, 7, unreachable)); }));
    EXPECT_TRUE(Select3::blocks([=] { gort::select(gort::recv(nilch, unreachable), gort::send(nilch, 7, unreachable)); }));
    parked += 4;
    // Selects with non-ready non-nil channels always block.
    EXPECT_TRUE(Select3::blocks([=] { gort::select(gort::recv(ch), gort::recv(nilch, unreachable)); }));
    ch.send(0);
    // Selects with default cases don't block.
    EXPECT_FALSE(Select3::blocks([] { gort::select(gort::default_()); }));
    EXPECT_FALSE(Select3::blocks([=] { gort::select(gort::recv(nilch, unreachable), gort::default_()); }));
    EXPECT_FALSE(Select3::blocks([=] { gort::select(gort::send(nilch, 7, unreachable), gort::default_()); }));
    // Selects with ready channels don't block.
    EXPECT_FALSE(Select3::blocks([=] {
      auto ch = make_chan<int>(async);
      gort::select(gort::send(ch, 7), gort::default_(unreachable));
    }));
    EXPECT_FALSE(Select3::blocks([=] {
      auto ch = make_chan<int>(async);
      ch.send(7);
      gort::select(gort::recv(ch), gort::default_(unreachable));
    }));
    // Selects with closed channels behave like ordinary operations.
    EXPECT_FALSE(Select3::blocks([=] { gort::select(gort::recv(closedch)); }));
    EXPECT_FALSE(Select3::blocks([=] { gort::select(gort::recv(closedch, [](int x) { EXPECT_EQ(x, 0); })); }));
    EXPECT_FALSE(Select3::blocks([=] {
      gort::select(gort::recv(closedch, [](int x, bool ok) { EXPECT_TRUE(x == 0 && !ok); }), gort::recv(nilch));
    }));
    EXPECT_TRUE(Select3::panics([=] { gort::select(gort::send(closedch, 7)); }));
    EXPECT_TRUE(Select3::panics([=] { gort::select(gort::send(closedch, 7), gort::recv(nilch)); }));
    // Select should not get confused if it sees itself.
    auto c = make_chan<int>();
    EXPECT_TRUE(Select3::blocks([=] { gort::select(gort::send(c, 1), gort::recv(c)); }));
    c.send(0);  // meets the blocked select's receive case
  });
  expectParkedForever(parked);
}

// ---- select4.go -------------------------------------------------------------------------
// A select proceeds when a value is ready; the other case's assignment
// target is not evaluated.
TEST_P(ChanTest, Select4) {
  gort::Run([] {
    struct {
      int a = 0;
    } x;
    auto c = make_chan<int>(1), c1 = make_chan<int>();
    c.send(42);
    gort::select(gort::recv(c1, [](int) { ADD_FAILURE() << "BUG: called f"; }), gort::recv(c, [&](int v) { x.a = v; }));
    EXPECT_EQ(x.a, 42);
  });
}

// ---- select5.go -------------------------------------------------------------------------
// select5.go generates selects of every shape: one or two cases, send or
// receive (with or without ok), on a nil, ready, blocked or closed channel,
// with or without default, and checks which case runs. The same table here.
enum class Ch { nil, ready, blocked, closed };

struct CaseSpec {
  bool send;
  Ch state;
};

chan<int> makeChanIn(Ch state, bool forSend) {
  switch (state) {
    case Ch::nil: return nullptr;
    case Ch::ready: {
      auto c = make_chan<int>(1);
      if (!forSend) c.send(1);
      return c;
    }
    case Ch::blocked: {
      auto c = make_chan<int>(1);
      if (forSend) c.send(1);
      return c;
    }
    case Ch::closed: {
      auto c = make_chan<int>(1);
      gort::close(c);
      return c;
    }
  }
  return nullptr;
}

bool canProceed(CaseSpec s) { return s.state == Ch::ready || (!s.send && s.state == Ch::closed); }

TEST_P(ChanTest, Select5) {
  gort::Run([] {
    std::vector<CaseSpec> specs;
    for (bool send : {false, true}) {
      for (Ch st : {Ch::nil, Ch::ready, Ch::blocked, Ch::closed}) specs.push_back({send, st});
    }
    for (CaseSpec a : specs) {
      for (CaseSpec b : specs) {
        for (bool withDefault : {false, true}) {
          bool ready = canProceed(a) || canProceed(b);
          bool panicky = (a.send && a.state == Ch::closed) || (b.send && b.state == Ch::closed);
          if (!ready && !withDefault && !panicky) continue;  // would block for ever
          auto ca = makeChanIn(a.state, a.send), cb = makeChanIn(b.state, b.send);
          int ran = -1;
          bool panicked = false;
          try {
            auto run = [&](auto caseA, auto caseB) {
              if (withDefault) {
                gort::select(std::move(caseA), std::move(caseB), gort::default_([&] { ran = 2; }));
              } else {
                gort::select(std::move(caseA), std::move(caseB));
              }
            };
            auto recvCase = [&](chan<int> c, int idx, Ch st) {
              return gort::recv(c, [&ran, idx, st](int v, bool ok) {
                ran = idx;
                EXPECT_EQ(ok, st == Ch::ready);
                EXPECT_EQ(v, st == Ch::ready ? 1 : 0);
              });
            };
            auto sendCase = [&](chan<int> c, int idx) { return gort::send(c, 5, [&ran, idx] { ran = idx; }); };
            if (a.send && b.send) run(sendCase(ca, 0), sendCase(cb, 1));
            if (a.send && !b.send) run(sendCase(ca, 0), recvCase(cb, 1, b.state));
            if (!a.send && b.send) run(recvCase(ca, 0, a.state), sendCase(cb, 1));
            if (!a.send && !b.send) run(recvCase(ca, 0, a.state), recvCase(cb, 1, b.state));
          } catch (const gort::runtime::PlainError& e) {
            panicked = true;
            EXPECT_STREQ(e.what(), "send on closed channel");
          }
          if (panicked) {
            EXPECT_TRUE(panicky);
            continue;
          }
          ASSERT_NE(ran, -1);
          if (ran == 2) {
            EXPECT_FALSE(ready) << "default ran with a ready case";
          } else {
            EXPECT_TRUE(canProceed(ran == 0 ? a : b)) << "a case that cannot proceed ran";
          }
        }
      }
    }
  });
}

// ---- select6.go -------------------------------------------------------------------------
// Issue 2075: a select must not corrupt the queues of its failed cases when
// other goroutines wait on those channels too.
TEST_P(ChanTest, Select6) {
  gort::Run([] {
    auto c1 = make_chan<bool>(), c2 = make_chan<bool>(), c3 = make_chan<bool>();
    gort::go([=] { c1.recv(); });
    gort::go([=] {
      gort::select(gort::recv(c1, [] { ADD_FAILURE() << "dummy"; }), gort::recv(c2, [&] { c3.send(true); }));
      c1.recv();
    });
    gort::go([=] { c2.send(true); });
    c3.recv();
    c1.send(true);
    c1.send(true);
  });
}

// ---- select7.go -------------------------------------------------------------------------
// Selects that discard the received value, against every kind of sender.
TEST_P(ChanTest, Select7) {
  gort::Run([] {
    using Recv = void (*)(recv_only<int>, send_only<int>);
    Recv recv1 = [](recv_only<int> c, send_only<int> done) {
      c.recv();
      done.send(0);
    };
    Recv recv2 = [](recv_only<int> c, send_only<int> done) {
      gort::select(gort::recv(c));
      done.send(0);
    };
    Recv recv3 = [](recv_only<int> c, send_only<int> done) {
      auto c2 = make_chan<int>();
      gort::select(gort::recv(c), gort::recv(c2));
      done.send(0);
    };
    auto done = make_chan<int>(1);
    auto send1 = [&](Recv recv) {
      auto c = make_chan<int>();
      gort::go(recv, recv_only<int>(c), send_only<int>(done));
      gort::runtime::Gosched();
      c.send(1);
    };
    auto send2 = [&](Recv recv) {
      auto c = make_chan<int>();
      gort::go(recv, recv_only<int>(c), send_only<int>(done));
      gort::runtime::Gosched();
      gort::select(gort::send(c, 1));
    };
    auto send3 = [&](Recv recv) {
      auto c = make_chan<int>();
      gort::go(recv, recv_only<int>(c), send_only<int>(done));
      gort::runtime::Gosched();
      auto c2 = make_chan<int>();
      gort::select(gort::send(c, 1), gort::send(c2, 1));
    };
    for (Recv r : {recv1, recv2, recv3}) {
      send1(r);
      done.recv();
      send2(r);
      done.recv();
      send3(r);
      done.recv();
    }
  });
}

// ---- sendstmt.go ------------------------------------------------------------------------
// A send whose channel comes from a receive (`<-cc <- 2`), and a send of an
// expression.
TEST_P(ChanTest, SendStmt) {
  gort::Run([] {
    auto cc = make_chan<chan<int>>(1);
    auto c = make_chan<int>(1);
    cc.send(c);
    gort::select(gort::send(cc.recv(), 2), gort::default_([] { ADD_FAILURE() << "nonblock"; }));
    EXPECT_EQ(c.recv(), 2) << "bad receive";
    auto b = make_chan<bool>(1);
    b.send(false || true);
    EXPECT_TRUE(b.recv()) << "sent false";
  });
}

// ---- sieve1.go --------------------------------------------------------------------------
// The concurrent prime sieve: a daisy chain of filter goroutines. Every
// goroutine also selects on quit, so the chain can be torn down.
TEST_P(ChanTest, Sieve1) {
  gort::Run([] {
    auto quit = make_chan<int>();
    // Sends 2, 3, 4, ... to ch until quit closes; every stage stops the same way.
    auto generate = [](send_only<int> ch, recv_only<int> quit) {
      bool more = true;
      for (int i = 2; more; i++) gort::select(gort::send(ch, i), gort::recv(quit, [&] { more = false; }));
    };
    auto filter = [](recv_only<int> in, send_only<int> out, int prime, recv_only<int> quit) {
      bool more = true;
      while (more) {
        gort::select(gort::recv(in, [&](int i) {
                       if (i % prime != 0) gort::select(gort::send(out, i), gort::recv(quit, [&] { more = false; }));
                     }),
                     gort::recv(quit, [&] { more = false; }));
      }
    };
    auto primes = make_chan<int>();
    gort::go([=] {  // Sieve
      auto ch = make_chan<int>();
      gort::go(generate, send_only<int>(ch), recv_only<int>(quit));
      bool more = true;
      auto stop = [&] { more = false; };
      while (more) {
        int prime = 0;
        gort::select(gort::recv(ch, [&](int p) { prime = p; }), gort::recv(quit, stop));
        if (more) gort::select(gort::send(primes, prime), gort::recv(quit, stop));
        if (!more) break;
        auto ch1 = make_chan<int>();
        gort::go(filter, recv_only<int>(ch), send_only<int>(ch1), prime, recv_only<int>(quit));
        ch = ch1;
      }
    });
    const int a[] = {2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89, 97};
    for (int want : a) ASSERT_EQ(primes.recv(), want);
    gort::close(quit);
  });
}

// ---- sieve2.go --------------------------------------------------------------------------
// The Eratosthenes sieve over odd candidates: composites merged from a heap
// of multiples channels, and a proxy goroutine with an unbounded buffer to
// break the feedback loop. All goroutines stop when quit closes.
TEST_P(ChanTest, Sieve2) {
  gort::Run([] {
    auto quit = make_chan<int>();
    // Sends 5, 7, 9, ... (odds) or p*p, p*p+2p, ... (multiples) until quit.
    auto series = [quit](int first, int step, int capacity) {
      auto out = make_chan<int>(capacity);
      gort::go([=] {
        bool more = true;
        for (int n = first; more; n += step) gort::select(gort::send(out, n), gort::recv(quit, [&] { more = false; }));
      });
      return out;
    };
    // Receives from c unless quit closes first (then returns false).
    auto get = [quit](const chan<int>& c, int* v) {
      bool ok = true;
      gort::select(gort::recv(c, [&](int x) { *v = x; }), gort::recv(quit, [&] { ok = false; }));
      return ok;
    };
    auto put = [quit](const chan<int>& c, int v) {
      bool ok = true;
      gort::select(gort::send(c, v), gort::recv(quit, [&] { ok = false; }));
      return ok;
    };
    // A channel that serves as a sending proxy to out, buffering without bound.
    auto sendproxy = [quit](chan<int> out) {
      auto proxy = make_chan<int>(10);
      gort::go([=] {
        std::deque<int> buf;
        for (bool more = true; more;) {
          chan<int> c = buf.empty() ? chan<int>() : out;  // buffer empty: disable output
          int e = buf.empty() ? 0 : buf.front();
          gort::select(gort::recv(proxy, [&](int v) { buf.push_back(v); }), gort::send(c, e, [&] { buf.pop_front(); }),
                       gort::recv(quit, [&] { more = false; }));
        }
      });
      return proxy;
    };
    auto out = make_chan<int>(10);
    out.send(2);
    out.send(3);
    auto composites = make_chan<int>(50);
    auto primes = make_chan<int>(10);
    primes.send(3);
    // Merge channels of multiples of primes into composites.
    gort::go([=] {
      struct PeekCh {
        int head;
        chan<int> ch;
        bool operator<(const PeekCh& o) const { return head > o.head; }  // min-heap
      };
      std::priority_queue<PeekCh> h;
      int min = 15, p = 0, head = 0;
      for (;;) {
        if (!get(primes, &p)) return;
        auto m = series(p * p, 2 * p, 10);
        if (!get(m, &head)) return;
        for (; min < head; ) {
          if (!put(composites, min)) return;
          PeekCh minchan = h.top();
          h.pop();
          min = minchan.head;
          if (!get(minchan.ch, &minchan.head)) return;
          h.push(minchan);
        }
        for (; min == head; ) {
          PeekCh minchan = h.top();
          h.pop();
          min = minchan.head;
          if (!get(minchan.ch, &minchan.head)) return;
          h.push(minchan);
        }
        if (!put(composites, head)) return;
        int next = 0;
        if (!get(m, &next)) return;
        h.push({next, m});
      }
    });
    // Sieve out composites from candidates.
    gort::go([=] {
      auto proxied = sendproxy(primes);
      auto candidates = series(5, 2, 50);
      int p = 0, c = 0;
      if (!get(candidates, &p)) return;
      for (;;) {
        if (!get(composites, &c)) return;
        for (; p < c;) {
          if (!put(proxied, p) || !put(out, p) || !get(candidates, &p)) return;
        }
        if (p == c && !get(candidates, &p)) return;
      }
    });
    const int a[] = {2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89, 97};
    for (int want : a) ASSERT_EQ(out.recv(), want);
    gort::close(quit);
  });
}

// ---- zerosize.go ------------------------------------------------------------------------
// Making channels of a zero-sized type does not panic.
TEST_P(ChanTest, ZeroSize) {
  gort::Run([] {
    struct Empty {};
    struct Array0 {
      std::array<char, 0> a;
    };
    EXPECT_NO_THROW((void)make_chan<Array0>());
    EXPECT_NO_THROW((void)make_chan<Array0>(1));
    EXPECT_NO_THROW((void)make_chan<Empty>());
    EXPECT_NO_THROW((void)make_chan<Empty>(1));
  });
}

INSTANTIATE_TEST_SUITE_P(Procs, ChanTest, ::testing::Values(1, 2, 4));

}  // namespace
