// Ports of Go's test/chan programs (golang/go test/chan/*.go), one test per
// program, each naming what it ports. Differences from the originals: the
// programs that leave goroutines running forever (sieves, generators, power
// series) get a quit channel so the leak check holds; sizes are reduced where
// noted; and select cases take their handlers as lambdas. Run at GOMAXPROCS
// 1, 2, 4.
#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
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

// ---- powser1.go -------------------------------------------------------------------------
// McIlroy's power series ("Squinting at Power Series"): a series is a demand
// channel pair served by its own goroutine, and every operator (sum, product,
// derivative, integral, exponential, substitution) is a network of such
// goroutines created on demand. Differences from the original: only the
// operators its self-check uses are ported (not the printing mode, Monmul,
// Mon, Shift, Binom, Recip, Subst, eval); the globals seqno (atomic here: the
// original races on it harmlessly) and a quit channel live in one object per
// run that every goroutine keeps alive; and every send and receive also
// selects on quit and calls Goexit when it closes, so the generators stop.
namespace powser {

struct Rat {
  int64_t num = 0, den = 0;  // den == 0 marks the end of a series
  bool operator==(const Rat&) const = default;
};

int64_t gcd(int64_t u, int64_t v) {
  if (u < 0) return gcd(-u, v);
  if (u == 0) return v;
  return gcd(v % u, u);
}
Rat i2tor(int64_t u, int64_t v) {
  int64_t g = gcd(u, v);
  return v > 0 ? Rat{u / g, v / g} : Rat{-u / g, -v / g};
}
Rat itor(int64_t u) { return i2tor(u, 1); }
const Rat zero = itor(0), one = itor(1), finis = i2tor(1, 0);
int64_t end(Rat u) { return u.den == 0 ? 1 : 0; }
Rat add(Rat u, Rat v) {
  int64_t g = gcd(u.den, v.den);
  return i2tor(u.num * (v.den / g) + v.num * (u.den / g), u.den * (v.den / g));
}
Rat mul(Rat u, Rat v) {
  int64_t g1 = gcd(u.num, v.den), g2 = gcd(u.den, v.num);
  return Rat{(u.num / g1) * (v.num / g2), (u.den / g2) * (v.den / g1)};
}
Rat neg(Rat u) { return i2tor(-u.num, u.den); }

// A demand channel: the consumer asks on req, the producer answers on dat.
struct Dch {
  chan<int> req = make_chan<int>();
  chan<Rat> dat = make_chan<Rat>();
};
using PS = Dch;
using Dch2 = std::shared_ptr<std::array<Dch, 2>>;  // shared: split generations swap its halves

class Series : public std::enable_shared_from_this<Series> {
 public:
  chan<int> quit = make_chan<int>();  // closed by the test when it has checked every series

  PS Rep(Rat c) {
    PS Z;
    spawn([=, this] {
      for (;;) put(c, Z);
    });
    return Z;
  }

  PS Add(const PS& U, const PS& V) {
    PS Z;
    spawn([=, this] {
      for (;;) {
        recvq(Z.req);
        auto uv = get2(U, V);
        switch (end(uv[0]) + 2 * end(uv[1])) {
          case 0: sendq(Z.dat, add(uv[0], uv[1])); break;
          case 1: sendq(Z.dat, uv[1]), copy(V, Z); break;
          case 2: sendq(Z.dat, uv[0]), copy(U, Z); break;
          case 3: sendq(Z.dat, finis); break;
        }
      }
    });
    return Z;
  }

  PS Cmul(Rat c, const PS& U) {
    PS Z;
    spawn([=, this] {
      for (bool done = false; !done;) {
        recvq(Z.req);
        Rat u = get(U);
        if (end(u) != 0) {
          done = true;
        } else {
          sendq(Z.dat, mul(c, u));
        }
      }
      sendq(Z.dat, finis);
    });
    return Z;
  }

  PS Sub(const PS& U, const PS& V) { return Add(U, Cmul(neg(one), V)); }

  // UV = u*v + x*(u*VV + v*UU) + x*x*UU*VV, where U = u + x*UU, V = v + x*VV.
  PS Mul(const PS& U, const PS& V) {
    PS Z;
    spawn([=, this] {
      recvq(Z.req);
      auto uv = get2(U, V);
      if (end(uv[0]) != 0 || end(uv[1]) != 0) {
        sendq(Z.dat, finis);
        return;
      }
      sendq(Z.dat, mul(uv[0], uv[1]));
      Dch2 UU = Split(U), VV = Split(V);
      PS W = Add(Cmul(uv[0], (*VV)[0]), Cmul(uv[1], (*UU)[0]));
      recvq(Z.req);
      sendq(Z.dat, get(W));
      copy(Add(W, Mul((*UU)[1], (*VV)[1])), Z);
    });
    return Z;
  }

  PS Diff(const PS& U) {
    PS Z;
    spawn([=, this] {
      recvq(Z.req);
      Rat u = get(U);
      if (end(u) == 0) {
        for (int64_t i = 1;; i++) {
          u = get(U);
          if (end(u) != 0) break;
          sendq(Z.dat, mul(itor(i), u));
          recvq(Z.req);
        }
      }
      sendq(Z.dat, finis);
    });
    return Z;
  }

  PS Integ(Rat c, const PS& U) {  // with constant of integration c
    PS Z;
    spawn([=, this] {
      put(c, Z);
      for (int64_t i = 1;; i++) {
        recvq(Z.req);
        Rat u = get(U);
        if (end(u) != 0) break;
        sendq(Z.dat, mul(i2tor(1, i), u));
      }
      sendq(Z.dat, finis);
    });
    return Z;
  }

  // Z = exp(U) for U with constant term 0: DZ = Z*DU, integrated.
  PS Exp(const PS& U) {
    auto ZZ = std::make_shared<std::array<Dch, 2>>();
    split(Integ(one, Mul((*ZZ)[0], Diff(U))), ZZ);
    return (*ZZ)[1];
  }

  // U(c0 x^n): term i multiplied by c0^i and followed by n-1 zeros.
  PS MonSubst(const PS& U, Rat c0, int n) {
    PS Z;
    spawn([=, this] {
      for (Rat c = one;;) {
        recvq(Z.req);
        Rat u = get(U);
        sendq(Z.dat, mul(u, c));
        c = mul(c, c0);
        if (end(u) != 0) {
          sendq(Z.dat, finis);
          return;
        }
        for (int i = 1; i < n; i++) {
          recvq(Z.req);
          sendq(Z.dat, zero);
        }
      }
    });
    return Z;
  }

  Rat get(const Dch& in) {
    sendq(in.req, ++seqno_);
    return recvq(in.dat);
  }

 private:
  std::atomic<int> seqno_{0};

  // A goroutine of this network; it keeps the network alive until it ends.
  template <class F>
  void spawn(F f) {
    gort::go([self = shared_from_this(), f = std::move(f)] { f(); });
  }
  auto quitCase() {
    return gort::recv(quit, [] { gort::runtime::Goexit(); });
  }
  template <class T>
  void sendq(const chan<T>& c, T v) {
    gort::select(gort::send(c, std::move(v)), quitCase());
  }
  template <class T>
  T recvq(const chan<T>& c) {
    T v{};
    gort::select(gort::recv(c, [&](T x) { v = x; }), quitCase());
    return v;
  }

  void put(Rat dat, const Dch& out) {
    recvq(out.req);
    sendq(out.dat, dat);
  }

  void copy(const Dch& in, const Dch& out) {
    for (;;) {
      recvq(out.req);
      sendq(out.dat, get(in));
    }
  }

  // Replicates in onto two outputs read at different rates. Each generation
  // serves one item; the newest serves (*out)[0], and a release signal tells
  // the next newer generation to serve (*out)[1] once this one has.
  void dosplit(const Dch& in, const Dch2& out, const chan<int>& wait) {
    bool both = false;  // do not serve both outputs
    gort::select(gort::recv((*out)[0].req), gort::recv(wait, [&] {
                   both = true;
                   gort::select(gort::recv((*out)[0].req),
                                gort::recv((*out)[1].req, [&] { std::swap((*out)[0], (*out)[1]); }), quitCase());
                 }),
                 quitCase());
    sendq(in.req, ++seqno_);
    auto release = make_chan<int>();
    spawn([=, this] { dosplit(in, out, release); });
    Rat dat = recvq(in.dat);
    sendq((*out)[0].dat, dat);
    if (!both) recvq(wait);
    recvq((*out)[1].req);
    sendq((*out)[1].dat, dat);
    sendq(release, 0);
  }
  void split(const Dch& in, const Dch2& out) {
    auto release = make_chan<int>();
    spawn([=, this] { dosplit(in, out, release); });
    sendq(release, 0);
  }
  Dch2 Split(const PS& U) {
    auto UU = std::make_shared<std::array<Dch, 2>>();
    spawn([=, this] { split(U, UU); });
    return UU;
  }

  // One item from each of two demand channels, asking and collecting in
  // whatever order they become ready (nil channels disable finished cases).
  std::array<Rat, 2> get2(const Dch& in0, const Dch& in1) {
    chan<int> req[2] = {in0.req, in1.req};
    chan<Rat> dat[2];
    std::array<Rat, 2> out;
    for (int n = 4; n > 0; n--) {
      int s = ++seqno_;
      gort::select(gort::send(req[0], s, [&] { dat[0] = in0.dat, req[0] = {}; }),
                   gort::send(req[1], s, [&] { dat[1] = in1.dat, req[1] = {}; }),
                   gort::recv(dat[0], [&](Rat it) { out[0] = it, dat[0] = {}; }),
                   gort::recv(dat[1], [&](Rat it) { out[1] = it, dat[1] = {}; }), quitCase());
    }
    return out;
  }
};

}  // namespace powser

TEST_P(ChanTest, Powser1) {
  using namespace powser;
  gort::Run([] {
    auto ps = std::make_shared<Series>();
    auto check = [&](const PS& U, Rat c, int count, const char* str) {
      for (int i = 0; i < count; i++) {
        Rat r = ps->get(U);
        ASSERT_EQ(r, c) << str << ": got " << r.num << "/" << r.den << ", want " << c.num << "/" << c.den;
      }
    };
    auto checka = [&](const PS& U, const std::vector<Rat>& a, const char* str) {
      for (Rat c : a) check(U, c, 1, str);
    };
    PS Ones = ps->Rep(one), Twos = ps->Rep(itor(2));
    constexpr int N = 10;
    std::vector<Rat> a(N);
    check(Ones, one, 5, "Ones");
    check(ps->Add(Ones, Ones), itor(2), 0, "Add Ones Ones");
    check(ps->Add(Ones, Twos), itor(3), 0, "Add Ones Twos");
    for (int i = 0; i < N; i++) a[i] = itor(i + 1);
    checka(ps->Diff(Ones), a, "Diff");  // 1 2 3 4 5
    a[0] = zero;                        // integration constant
    for (int i = 1; i < N; i++) a[i] = i2tor(1, i);
    checka(ps->Integ(zero, Ones), a, "Integ");              // 0 1 1/2 1/3 1/4
    check(ps->Cmul(neg(one), Twos), itor(-2), 10, "CMul");  // -2 -2 -2
    check(ps->Sub(Ones, Twos), itor(-1), 0, "Sub Ones Twos");
    for (int i = 0; i < N; i++) a[i] = itor(i + 1);
    checka(ps->Mul(Ones, Ones), a, "Mul");  // 1 2 3 4 5
    a = {itor(1),        i2tor(1, 1),      i2tor(3, 2),        i2tor(13, 6),       i2tor(73, 24),
         i2tor(167, 40), i2tor(4051, 720), i2tor(37633, 5040), i2tor(43817, 4480), i2tor(4596553, 362880)};
    checka(ps->Exp(Ones), a, "Exp");  // 1 1 3/2 13/6 73/24
    for (int c = 1, i = 0; i < N; i++) {
      if (i % 2 == 0) {
        a[i] = zero;
      } else {
        a[i] = i2tor(c, i);
        c = -c;
      }
    }
    checka(ps->Integ(zero, ps->MonSubst(Ones, neg(one), 2)), a, "ATan");  // 0 1 0 -1/3 0 1/5
    gort::close(ps->quit);
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
