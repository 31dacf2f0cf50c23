// Package net tests (in the spirit of net/net_test.go, timeout_test.go,
// tcpsock_test.go): TCP (IPv4, IPv6), UDP and Unix round trips, deadlines
// with distinguishable timeout errors, EOF, peer reset, use after close,
// Go's error messages, fd exhaustion on Accept, pipes and files through
// package os, and name resolution; at several P counts, loopback only.
#include <gtest/gtest.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <string>
#include <tuple>
#include <vector>

#include "gort/chan.hpp"
#include "gort/go.hpp"
#include "gort/io.hpp"
#include "gort/net.hpp"
#include "gort/os.hpp"
#include "gort/runtime.hpp"
#include "gort/syscall.hpp"
#include "gort/time.hpp"
#include "runtime/export_test.hpp"
#include "support/procs_test.hpp"

namespace {

namespace net = gort::net;
namespace io = gort::io;
namespace os = gort::os;
namespace time = gort::time;
using gort::error;

template <class F>
void waitFor(F cond) {
  for (int i = 0; i < 5000 && !cond(); i++) time::Sleep(time::Millisecond);
  ASSERT_TRUE(cond());
}

class NetTest : public gorttest::ProcsTest {};

// An echo server on ln: each connection copies its input back until EOF.
void serveEcho(net::Listener ln, std::atomic<int>* served) {
  gort::go([ln, served]() mutable {
    for (;;) {
      auto [c, err] = ln.Accept();
      if (err) return;
      served->fetch_add(1);
      gort::go([c]() mutable {
        char buf[512];
        for (;;) {
          auto [n, rerr] = c.Read(buf, sizeof buf);
          if (n > 0) c.Write(buf, size_t(n));
          if (rerr) break;
        }
        c.Close();
      });
    }
  });
}

void roundTrips(const std::string& network, const std::string& addr, int conns, int trips) {
  auto [ln, err] = net::Listen(network, addr);
  ASSERT_FALSE(err) << err.Error();
  std::atomic<int> served{0}, done{0};
  serveEcho(ln, &served);
  std::string target = ln.Addr()->String();
  for (int i = 0; i < conns; i++) {
    gort::go([&, i] {
      auto [c, derr] = net::Dial(network, target);
      EXPECT_FALSE(derr) << derr.Error();
      if (derr) {
        done.fetch_add(1);
        return;
      }
      char out[64], in[64];
      for (int j = 0; j < trips; j++) {
        std::snprintf(out, sizeof out, "conn %d trip %d", i, j);
        auto [wn, werr] = c.Write(out, sizeof out);
        EXPECT_FALSE(werr);
        auto [rn, rerr] = io::ReadFull(c, in, sizeof in);
        EXPECT_FALSE(rerr) << rerr.Error();
        EXPECT_EQ(std::memcmp(in, out, sizeof out), 0);
      }
      c.CloseWrite();
      auto [n, eof] = c.Read(in, sizeof in);
      EXPECT_EQ(n, 0);
      EXPECT_TRUE(eof == io::EOF_) << eof.Error();
      c.Close();
      done.fetch_add(1);
    });
  }
  waitFor([&] { return done.load() == conns; });
  EXPECT_EQ(served.load(), conns);
  ln.Close();
}

TEST_P(NetTest, TCP4RoundTrips) {
  gort::Run([] { roundTrips("tcp", "127.0.0.1:0", 20, 50); });
}

// Many round trips give each descriptor a home P (netpoll.cpp), so the
// poller queues goroutines in other Ps' inboxes; GOMAXPROCS changing under
// the traffic retires Ps with full inboxes and makes pushes race with Ps
// going idle and stopping. Every round trip must still complete.
TEST_P(NetTest, TCPRoundTripsWhileGomaxprocsChanges) {
  gort::Run([] {
    std::atomic<bool> stop{false};
    auto flipped = gort::make_chan<int>();
    gort::go([&stop, flipped] {
      int procs[] = {2, 4, 1, 3};
      int prev = gort::runtime::GOMAXPROCS(0);
      for (int i = 0; !stop.load(); i++) {
        gort::runtime::GOMAXPROCS(procs[i % 4]);
        time::Sleep(500 * time::Microsecond);
      }
      gort::runtime::GOMAXPROCS(prev);
      flipped.send(1);
    });
    roundTrips("tcp", "127.0.0.1:0", 32, 400);
    stop.store(true);
    flipped.recv();
  });
}

TEST_P(NetTest, TCP6RoundTrips) {
  gort::Run([] {
    auto [probe, err] = net::Listen("tcp6", "[::1]:0");
    if (err) GTEST_SKIP() << "no IPv6 loopback: " << err.Error();
    probe.Close();
    roundTrips("tcp6", "[::1]:0", 10, 20);
  });
}

TEST_P(NetTest, UnixRoundTrips) {
  std::string path = "/tmp/gort-net-test-" + std::to_string(getpid()) + "-" + std::to_string(GetParam()) + ".sock";
  gort::Run([&] { roundTrips("unix", path, 10, 20); });
  EXPECT_NE(access(path.c_str(), F_OK), 0) << "Close removes the socket file";
}

TEST_P(NetTest, AddressesAndNames) {
  gort::Run([] {
    auto [ln, err] = net::Listen("tcp", "localhost:0");
    ASSERT_FALSE(err) << err.Error();
    std::string addr = ln.Addr()->String();
    EXPECT_EQ(addr.rfind("127.0.0.1:", 0), 0u) << addr;
    std::atomic<int> served{0};
    serveEcho(ln, &served);
    auto [c, derr] = net::Dial("tcp", addr);
    ASSERT_FALSE(derr);
    EXPECT_EQ(c.RemoteAddr()->String(), addr);
    EXPECT_EQ(c.LocalAddr()->Network(), "tcp");
    EXPECT_EQ(c.LocalAddr()->String().rfind("127.0.0.1:", 0), 0u);
    c.Close();
    ln.Close();
    auto [hosts, lerr] = net::LookupHost("localhost");
    EXPECT_FALSE(lerr);
    EXPECT_FALSE(hosts.empty());
    auto [none, nerr] = net::LookupHost("no-such-host.invalid");
    ASSERT_TRUE(nerr);
    EXPECT_EQ(nerr.Error(), "lookup no-such-host.invalid: no such host");
    error serr;
    auto [h, p] = net::SplitHostPort("[::1]:80", &serr);
    EXPECT_EQ(h, "::1");
    EXPECT_EQ(p, "80");
    net::SplitHostPort("127.0.0.1", &serr);
    EXPECT_EQ(serr.Error(), "address 127.0.0.1: missing port in address");
    EXPECT_EQ(net::JoinHostPort("::1", "80"), "[::1]:80");
  });
}

TEST_P(NetTest, UDPRoundTrips) {
  gort::Run([] {
    auto [srv, err] = net::ListenPacket("udp", "127.0.0.1:0");
    ASSERT_FALSE(err) << err.Error();
    gort::go([srv]() mutable {
      char buf[256];
      for (;;) {
        net::AddrPtr from;
        auto [n, rerr] = srv.ReadFrom(buf, sizeof buf, &from);
        if (rerr) return;
        srv.WriteTo(buf, size_t(n), *from);
      }
    });
    auto [c, derr] = net::Dial("udp", srv.LocalAddr()->String());
    ASSERT_FALSE(derr) << derr.Error();
    for (int i = 0; i < 50; i++) {
      std::string msg = "datagram " + std::to_string(i);
      c.Write(msg);
      char buf[256];
      c.SetReadDeadline(time::Now().Add(2 * time::Second));
      auto [n, rerr] = c.Read(buf, sizeof buf);
      ASSERT_FALSE(rerr) << rerr.Error();
      EXPECT_EQ(std::string(buf, size_t(n)), msg);
    }
    c.Close();
    srv.Close();
  });
}

// A message-preserving socket: Read returns one datagram or record at a
// time, and a read of 0 bytes returns (0, nil) at once, as Go's does,
// without consuming the pending message (recv(2) of 0 bytes would take
// the datagram; read(2) of 0 bytes on a seqpacket socket reads as EOF).
template <class Send>
void expectMessagesKeptWhole(Send send, net::Conn& rx) {
  for (const char* msg : {"first", "second"}) ASSERT_FALSE(send(std::string(msg)));
  char buf[64];
  auto [zn, zerr] = rx.Read(buf, 0);
  EXPECT_EQ(zn, 0);
  EXPECT_FALSE(zerr) << zerr.Error();
  for (const char* msg : {"first", "second"}) {
    rx.SetReadDeadline(time::Now().Add(2 * time::Second));
    auto [n, err] = rx.Read(buf, sizeof buf);
    ASSERT_FALSE(err) << err.Error();
    EXPECT_EQ(std::string(buf, size_t(n)), msg);
  }
}

TEST_P(NetTest, DatagramAndSeqpacketReadsKeepMessagesWhole) {
  std::string path = "/tmp/gort-net-pkt-" + std::to_string(getpid()) + "-" + std::to_string(GetParam()) + ".sock";
  gort::Run([&] {
    auto [srv, err] = net::ListenPacket("udp", "127.0.0.1:0");
    ASSERT_FALSE(err) << err.Error();
    auto [c, derr] = net::Dial("udp", srv.LocalAddr()->String());
    ASSERT_FALSE(derr) << derr.Error();
    net::AddrPtr to = c.LocalAddr();
    expectMessagesKeptWhole([&, to](const std::string& m) { return srv.WriteTo(m.data(), m.size(), *to).second; }, c);
    c.Close();
    srv.Close();

    auto [ln, lerr] = net::Listen("unixpacket", path);
    ASSERT_FALSE(lerr) << lerr.Error();
    auto [dc, dcerr] = net::Dial("unixpacket", path);
    ASSERT_FALSE(dcerr) << dcerr.Error();
    auto [ac, acerr] = ln.Accept();
    ASSERT_FALSE(acerr) << acerr.Error();
    expectMessagesKeptWhole([&](const std::string& m) { return dc.Write(m).second; }, ac);
    dc.Close();
    ac.Close();
    ln.Close();
  });
}

TEST_P(NetTest, DeadlinesTimeOutDistinguishably) {
  gort::Run([] {
    auto [ln, err] = net::Listen("tcp", "127.0.0.1:0");
    ASSERT_FALSE(err);
    net::Conn server;
    std::atomic<bool> accepted{false};
    gort::go([&] {
      auto [c, aerr] = ln.Accept();
      server = c;
      accepted = true;
    });
    auto [c, derr] = net::Dial("tcp", ln.Addr()->String());
    ASSERT_FALSE(derr);
    waitFor([&] { return accepted.load(); });
    // A read with nothing to read times out after the deadline.
    time::Time t0 = time::Now();
    c.SetReadDeadline(t0.Add(30 * time::Millisecond));
    char buf[16];
    auto [n, rerr] = c.Read(buf, sizeof buf);
    time::Duration took = time::Since(t0);
    EXPECT_EQ(n, 0);
    ASSERT_TRUE(rerr);
    EXPECT_TRUE(rerr.Timeout());
    EXPECT_TRUE(gort::errors::Is(rerr, os::ErrDeadlineExceeded));
    EXPECT_FALSE(gort::errors::Is(rerr, net::ErrClosed));
    EXPECT_EQ(rerr.Error(), "read tcp " + c.LocalAddr()->String() + "->" + c.RemoteAddr()->String() + ": i/o timeout");
    EXPECT_GE(took, 30 * time::Millisecond);
    EXPECT_LT(took, 2 * time::Second);
    // It keeps failing until the deadline moves; a past deadline fails now.
    EXPECT_TRUE(c.Read(buf, sizeof buf).second.Timeout());
    c.SetReadDeadline(time::Time());
    server.Write("hi");
    auto [n2, rerr2] = c.Read(buf, sizeof buf);
    EXPECT_FALSE(rerr2);
    EXPECT_EQ(n2, 2);
    c.SetDeadline(time::Now().Add(-time::Second));
    EXPECT_TRUE(c.Read(buf, sizeof buf).second.Timeout());
    // A deadline set while a reader is blocked wakes it.
    c.SetDeadline(time::Time());
    std::atomic<bool> woke{false};
    gort::go([&] {
      char b[4];
      auto [k, e] = c.Read(b, sizeof b);
      EXPECT_TRUE(e.Timeout());
      woke = true;
    });
    time::Sleep(10 * time::Millisecond);
    c.SetReadDeadline(time::Now());
    waitFor([&] { return woke.load(); });
    // Writes into a full buffer time out too.
    c.SetWriteDeadline(time::Now().Add(50 * time::Millisecond));
    std::vector<char> big(1 << 20);
    error werr;
    for (int i = 0; i < 256 && !werr; i++) werr = c.Write(big.data(), big.size()).second;
    ASSERT_TRUE(werr);
    EXPECT_TRUE(werr.Timeout()) << werr.Error();
    c.Close();
    server.Close();
    ln.Close();
  });
}

// A loopback TCP connection: the client end c and the server end s.
void connectTCP(net::Listener* ln, net::Conn* c, net::Conn* s) {
  gort::error err;
  std::tie(*ln, err) = net::Listen("tcp", "127.0.0.1:0");
  ASSERT_FALSE(err);
  std::tie(*c, err) = net::Dial("tcp", ln->Addr()->String());
  ASSERT_FALSE(err);
  std::tie(*s, err) = ln->Accept();
  ASSERT_FALSE(err);
}

// A TCP read that left the receive queue empty makes the next read wait
// for the poller instead of trying the system call (fd.cpp); these are the
// cases where skipping would lose data or an event: bytes left behind by a
// short buffer, data arriving while the reader waits or before it reads
// again, end of stream after a drain, CloseRead.
TEST_P(NetTest, ReadsAfterADrainedQueue) {
  gort::Run([] {
    net::Listener ln;
    net::Conn c, s;
    ASSERT_NO_FATAL_FAILURE(connectTCP(&ln, &c, &s));
    char out[192], in[64];
    for (size_t i = 0; i < sizeof out; i++) out[i] = char(i);
    // Three full-buffer reads of one write: the first two leave data behind.
    c.Write(out, sizeof out);
    for (int i = 0; i < 3; i++) {
      auto [n, rerr] = io::ReadFull(s, in, sizeof in);
      ASSERT_FALSE(rerr) << rerr.Error();
      EXPECT_EQ(std::memcmp(in, out + 64 * i, sizeof in), 0);
    }
    // Data that comes while the reader waits, and data that came before it
    // asked, after a drain.
    gort::go([c]() mutable {
      time::Sleep(5 * time::Millisecond);
      c.Write("late");
    });
    EXPECT_EQ(s.Read(in, sizeof in).first, 4);
    c.Write("early");
    time::Sleep(5 * time::Millisecond);
    EXPECT_EQ(s.Read(in, sizeof in).first, 5);
    // End of stream after a drain, then again.
    c.Write("last");
    EXPECT_EQ(s.Read(in, sizeof in).first, 4);
    c.CloseWrite();
    for (int i = 0; i < 2; i++) {
      auto [n, eof] = s.Read(in, sizeof in);
      EXPECT_EQ(n, 0);
      EXPECT_TRUE(eof == io::EOF_) << eof.Error();
    }
    // Our own CloseRead after a drain: the read does not wait forever.
    s.Write("x");
    EXPECT_EQ(c.Read(in, sizeof in).first, 1);
    c.CloseRead();
    auto [n, eof] = c.Read(in, sizeof in);
    EXPECT_EQ(n, 0);
    EXPECT_TRUE(eof == io::EOF_) << eof.Error();
    c.Close();
    s.Close();
    ln.Close();
  });
}

TEST_P(NetTest, CloseUnblocksAndReportsClosed) {
  gort::Run([] {
    auto [ln, err] = net::Listen("tcp", "127.0.0.1:0");
    ASSERT_FALSE(err);
    std::atomic<int> stage{0};
    error acceptErr;
    gort::go([&] {
      auto [c, aerr] = ln.Accept();  // connection 1
      c.Close();
      auto [c2, aerr2] = ln.Accept();  // blocks until Close
      acceptErr = aerr2;
      stage = 1;
    });
    auto [c, derr] = net::Dial("tcp", ln.Addr()->String());
    ASSERT_FALSE(derr);
    time::Sleep(10 * time::Millisecond);
    ln.Close();
    waitFor([&] { return stage.load() == 1; });
    EXPECT_TRUE(gort::errors::Is(acceptErr, net::ErrClosed));
    EXPECT_EQ(acceptErr.Error(), "accept tcp " + ln.Addr()->String() + ": use of closed network connection");
    // Reading a connection that is being closed by another goroutine.
    error readErr;
    gort::go([&] {
      char b[4];
      // The peer closed: this sees EOF, or the local Close if it wins.
      readErr = c.Read(b, sizeof b).second;
      stage = 2;
    });
    waitFor([&] { return stage.load() == 2; });
    EXPECT_TRUE(readErr == io::EOF_) << readErr.Error();
    c.Close();
    auto [n, cerr] = c.Write("x");
    EXPECT_TRUE(gort::errors::Is(cerr, net::ErrClosed));
    EXPECT_FALSE(cerr.Timeout());
    EXPECT_EQ(c.Close().Error(),
              "close tcp " + c.LocalAddr()->String() + "->" + c.RemoteAddr()->String() + ": use of closed network connection");
    // Dial to a closed port: Go's message.
    auto [bad, berr] = net::Dial("tcp", ln.Addr()->String());
    ASSERT_TRUE(berr);
    EXPECT_EQ(berr.Error(), "dial tcp " + ln.Addr()->String() + ": connect: connection refused");
    auto [bad2, berr2] = net::Dial("foo", "x");
    EXPECT_EQ(berr2.Error(), "dial foo: unknown network foo");
  });
}

TEST_P(NetTest, BlockedCloseWakesReader) {
  gort::Run([] {
    auto [ln, err] = net::Listen("tcp", "127.0.0.1:0");
    ASSERT_FALSE(err);
    std::atomic<int> served{0};
    serveEcho(ln, &served);
    auto [c, derr] = net::Dial("tcp", ln.Addr()->String());
    ASSERT_FALSE(derr);
    std::atomic<bool> done{false};
    gort::go([&] {
      char b[4];
      auto [n, rerr] = c.Read(b, sizeof b);
      EXPECT_TRUE(gort::errors::Is(rerr, net::ErrClosed)) << rerr.Error();
      done = true;
    });
    time::Sleep(10 * time::Millisecond);
    c.Close();
    waitFor([&] { return done.load(); });
    ln.Close();
  });
}

// Concurrent reads of one connection take turns (each gets whole writes'
// bytes in order, none lost); Close wakes the ones queued for the read lock
// as well as the one parked in the poller.
TEST_P(NetTest, ConcurrentReadersTakeTurnsAndCloseWakesThemAll) {
  gort::Run([] {
    net::Listener ln;
    net::Conn c, s;
    ASSERT_NO_FATAL_FAILURE(connectTCP(&ln, &c, &s));
    constexpr int kReaders = 8, kEach = 50;
    std::atomic<int> bytes{0}, closed{0};
    for (int i = 0; i < kReaders; i++) {
      gort::go([&, s]() mutable {
        char b;
        for (;;) {
          auto [n, rerr] = s.Read(&b, 1);
          if (rerr) {
            EXPECT_TRUE(gort::errors::Is(rerr, net::ErrClosed)) << rerr.Error();
            closed.fetch_add(1);
            return;
          }
          bytes.fetch_add(int(n));
        }
      });
    }
    for (int i = 0; i < kReaders * kEach; i++) c.Write("x");
    waitFor([&] { return bytes.load() == kReaders * kEach; });
    s.Close();
    waitFor([&] { return closed.load() == kReaders; });
    c.Close();
    ln.Close();
  });
}

TEST_P(NetTest, PeerResetIsReported) {
  gort::Run([] {
    auto [ln, err] = net::Listen("tcp", "127.0.0.1:0");
    ASSERT_FALSE(err);
    std::atomic<bool> closed{false};
    gort::go([&] {
      auto [c, aerr] = ln.Accept();
      char b[1];
      io::ReadFull(c, b, 1);
      c.SetLinger(0);  // close sends RST
      c.Close();
      closed = true;
    });
    auto [c, derr] = net::Dial("tcp", ln.Addr()->String());
    ASSERT_FALSE(derr);
    c.Write("x");
    waitFor([&] { return closed.load(); });
    time::Sleep(10 * time::Millisecond);
    char b[4];
    auto [n, rerr] = c.Read(b, sizeof b);
    ASSERT_TRUE(rerr);
    EXPECT_TRUE(gort::errors::Is(rerr, gort::syscall::Errno(ECONNRESET))) << rerr.Error();
    EXPECT_EQ(rerr.Error(), "read tcp " + c.LocalAddr()->String() + "->" + c.RemoteAddr()->String() +
                                ": read: connection reset by peer");
    c.Close();
    ln.Close();
  });
}

INSTANTIATE_TEST_SUITE_P(Procs, NetTest, ::testing::Values(1, 2, 4));

}  // namespace

namespace {

// Running out of descriptors: Accept fails with a temporary error while
// the listener and the connections already open keep working. Runs in a
// child process so the lowered RLIMIT_NOFILE affects nobody else.
void acceptUnderEMFILE() {
  int status = 1;
  gort::Run([&] {
    auto [ln, err] = net::Listen("tcp", "127.0.0.1:0");
    if (err) return;
    std::vector<net::Conn> clients;
    for (int i = 0; i < 4; i++) {
      auto [c, derr] = net::Dial("tcp", ln.Addr()->String());
      if (derr) return;
      clients.push_back(c);
    }
    auto [first, aerr] = ln.Accept();
    if (aerr) return;
    // Use up every descriptor below a limit just above the ones in use,
    // leaving room for at least two fillers (the table may have no holes).
    int maxfd = 0;
    for (int fd = 0; fd < 4096; fd++) {
      if (fcntl(fd, F_GETFD) >= 0) maxfd = fd;
    }
    struct rlimit rl{};
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rlim_t(maxfd + 3);
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0) return;
    std::vector<int> fill;
    for (int fd; (fd = open("/dev/null", O_RDONLY)) >= 0;) fill.push_back(fd);
    if (fill.size() < 2) return;
    auto [none, emfile] = ln.Accept();
    if (!emfile || !emfile.Temporary() ||
        emfile.Error() != "accept tcp " + ln.Addr()->String() + ": accept4: too many open files") {
      fprintf(stderr, "unexpected accept result: %s\n", emfile.Error().c_str());
      return;
    }
    // The open connection still works.
    clients[0].Write("ping");
    char buf[4];
    if (io::ReadFull(first, buf, 4).second) return;
    // Free two descriptors: Accept works again.
    for (int i = 0; i < 2; i++) {
      close(fill.back());
      fill.pop_back();
    }
    auto [second, aerr2] = ln.Accept();
    if (aerr2) {
      fprintf(stderr, "accept after freeing: %s\n", aerr2.Error().c_str());
      return;
    }
    clients[1].Write("pong");
    if (io::ReadFull(second, buf, 4).second || std::memcmp(buf, "pong", 4) != 0) return;
    status = 0;
  });
  _exit(status);  // no global destructors: runtime threads still run
}

TEST(NetDeathTest, AcceptSurvivesDescriptorExhaustion) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
#if defined(GORT_ASAN)
  // UBSan's vptr check probes memory through a pipe(); with no descriptors
  // left it reports every virtual call as invalid (and cannot even open a
  // suppression file then). The normal and TSan builds run this test.
  GTEST_SKIP() << "UBSan's vptr check cannot run without free descriptors";
#endif
  EXPECT_EXIT(acceptUnderEMFILE(), ::testing::ExitedWithCode(0), "");
}

TEST(Syscall, BlockingCallDoesNotStallOtherGoroutines) {
  int prev = gort::runtime::GOMAXPROCS(1);
  gort::Run([] {
    std::atomic<bool> blocked{false}, finished{false};
    std::atomic<int> ticks{0};
    time::Time t0 = time::Now();
    gort::go([&] {
      blocked = true;
      gort::syscall::Blocking([] { usleep(200 * 1000); });
      finished = true;
    });
    gort::go([&] {
      while (!blocked.load()) gort::runtime::Gosched();
      for (int i = 0; i < 20; i++) {
        time::Sleep(time::Millisecond);
        ticks.fetch_add(1);
      }
    });
    waitFor([&] { return ticks.load() == 20; });
    // The ticker finished long before the blocked call returned.
    EXPECT_FALSE(finished.load());
    EXPECT_LT(time::Since(t0), 150 * time::Millisecond);
    waitFor([&] { return finished.load(); });
    EXPECT_GE(time::Since(t0), 200 * time::Millisecond);
  });
  gort::runtime::GOMAXPROCS(prev);
}

// Reads the poller's descriptor rfd is registered under, waiting for each
// of 64 bytes another goroutine writes to wfd one at a time; returns the
// descriptor's home afterwards (netpoll.cpp: checked every 8th read wait).
int32_t homeAfterReadWaits(int rfd, int wfd) {
  int err = 0;
  gort::internal::pollDesc* pd = gort::internal::pollOpen(rfd, &err);
  EXPECT_NE(pd, nullptr) << err;
  if (!pd) return -1;
  auto go = gort::make_chan<int>();
  auto done = gort::make_chan<int>();
  gort::go([go, done, wfd] {
    for (int v : go) {
      char b = char(v);
      EXPECT_EQ(write(wfd, &b, 1), 1);
    }
    done.send(0);
  });
  for (int i = 0; i < 64; i++) {
    char b;
    EXPECT_EQ(read(rfd, &b, 1), -1);  // nothing yet: wait
    go.send(i);
    EXPECT_EQ(gort::internal::pollWait(pd, 'r'), gort::internal::pollNoError);
    EXPECT_EQ(read(rfd, &b, 1), 1);
  }
  gort::close(go);
  done.recv();
  int32_t home = pd->home.load();
  gort::internal::pollUnblock(pd);
  gort::internal::pollClose(pd);
  return home;
}

// With GOMAXPROCS > 1 a socket's read waits give it a home: the P running
// where its data arrives (SO_INCOMING_CPU); a pipe has none and is marked
// so after its first check.
TEST(Netpoll, ReadWaitsHomeASocketButNotAPipe) {
  gort::Run([] {
    int prev = gort::runtime::GOMAXPROCS(2);
    int ln = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(a);
    ASSERT_EQ(bind(ln, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
    ASSERT_EQ(listen(ln, 1), 0);
    ASSERT_EQ(getsockname(ln, reinterpret_cast<sockaddr*>(&a), &len), 0);
    int client = socket(AF_INET, SOCK_STREAM, 0);
    ASSERT_EQ(connect(client, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
    int server = accept4(ln, nullptr, nullptr, SOCK_NONBLOCK);
    ASSERT_GE(server, 0);
    int32_t home = homeAfterReadWaits(server, client);
    EXPECT_GE(home, 0);
    EXPECT_LT(home, 2);
    int fds[2];
    ASSERT_EQ(pipe2(fds, O_NONBLOCK), 0);
    EXPECT_EQ(homeAfterReadWaits(fds[0], fds[1]), gort::internal::kNoHome);
    for (int fd : {ln, client, server, fds[0], fds[1]}) close(fd);
    gort::runtime::GOMAXPROCS(prev);
  });
}

TEST(Os, PipesGoThroughThePoller) {
  gort::Run([] {
    auto [r, w, err] = os::Pipe();
    ASSERT_FALSE(err);
    gort::go([w]() mutable {
      for (int i = 0; i < 100; i++) w.WriteString("0123456789");
      w.Close();
    });
    std::string got;
    char buf[64];
    for (;;) {
      auto [n, rerr] = r.Read(buf, sizeof buf);
      got.append(buf, size_t(n));
      if (rerr) {
        EXPECT_TRUE(rerr == io::EOF_) << rerr.Error();
        break;
      }
    }
    EXPECT_EQ(got.size(), 1000u);
    // Deadlines work on pipes.
    auto [r2, w2, err2] = os::Pipe();
    r2.SetReadDeadline(time::Now().Add(20 * time::Millisecond));
    auto [n, terr] = r2.Read(buf, sizeof buf);
    EXPECT_TRUE(terr.Timeout());
    EXPECT_TRUE(gort::errors::Is(terr, os::ErrDeadlineExceeded));
    r.Close();
    r2.Close();
    w2.Close();
    EXPECT_TRUE(gort::errors::Is(r2.Close(), os::ErrClosed));
  });
}

TEST(Os, RegularFilesThroughTheSyscallBoundary) {
  std::string path = "/tmp/gort-os-test-" + std::to_string(getpid());
  gort::Run([&] {
    auto [f, err] = os::Create(path);
    ASSERT_FALSE(err) << err.Error();
    EXPECT_EQ(f.WriteString("hello, file").first, 11);
    f.Close();
    auto [g, oerr] = os::Open(path);
    ASSERT_FALSE(oerr);
    char buf[32];
    auto [n, rerr] = io::ReadFull(g, buf, 11);
    EXPECT_FALSE(rerr);
    EXPECT_EQ(std::string(buf, 11), "hello, file");
    EXPECT_TRUE(g.Read(buf, sizeof buf).second == io::EOF_);
    EXPECT_EQ(g.ReadAt(buf, 4, 7).first, 4);
    EXPECT_EQ(std::string(buf, 4), "file");
    g.Close();
    EXPECT_FALSE(os::Remove(path));
    auto [h, nerr] = os::Open("/nonexistent/gort");
    ASSERT_TRUE(nerr);
    EXPECT_EQ(nerr.Error(), "open /nonexistent/gort: no such file or directory");
    EXPECT_TRUE(gort::errors::Is(nerr, gort::syscall::Errno(ENOENT)));
  });
}

}  // namespace
