// echo: a TCP echo server on loopback and C client goroutines in the same
// process, each doing R request/response round trips of 64 bytes over its
// own connection; reports round trips per second. Mirrors the Go anchor
// anchors/go/echo (same flags, same result line).
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include "gort/chan.hpp"
#include "gort/go.hpp"
#include "gort/io.hpp"
#include "gort/net.hpp"
#include "gort/runtime.hpp"
#include "gort/time.hpp"
#include "flags.hpp"

namespace {

namespace net = gort::net;
namespace io = gort::io;
namespace time = gort::time;

long c = 200, r = 2000;

void serve(net::Conn conn) {
  char buf[64];
  for (;;) {
    if (io::ReadFull(conn, buf, sizeof buf).second || conn.Write(buf, sizeof buf).second) {
      conn.Close();
      return;
    }
  }
}

gortbench::ProfFlags* profFlags;

void run() {
  profFlags->start();
  auto [ln, err] = net::Listen("tcp", "127.0.0.1:0");
  if (err) throw std::runtime_error(err.Error());
  gort::go([ln = ln]() mutable {
    for (;;) {
      auto [conn, aerr] = ln.Accept();
      if (aerr) return;
      gort::go(serve, conn);
    }
  });
  std::string addr = ln.Addr()->String();
  std::atomic<long> pending{c};
  auto done = gort::make_chan<int>();
  time::Time start = time::Now();
  for (long i = 0; i < c; i++) {
    gort::go([&addr, &pending, done] {
      auto [conn, derr] = net::Dial("tcp", addr);
      if (derr) throw std::runtime_error(derr.Error());
      char buf[64] = {};
      for (long j = 0; j < r; j++) {
        if (auto werr = conn.Write(buf, sizeof buf).second) throw std::runtime_error(werr.Error());
        if (auto rerr = io::ReadFull(conn, buf, sizeof buf).second) throw std::runtime_error(rerr.Error());
      }
      conn.Close();
      if (pending.fetch_sub(1) == 1) gort::close(done);
    });
  }
  done.recv();
  time::Duration el = time::Since(start);
  profFlags->stop();
  std::printf("echo: c=%ld r=%ld %.0f roundtrips/s\n", c, r, double(c * r) / el.Seconds());
}

}  // namespace

int main(int argc, char** argv) {
  gortbench::ProfFlags prof(argc, argv);
  profFlags = &prof;
  gortbench::parseFlag(argc, argv, "c", &c);
  gortbench::parseFlag(argc, argv, "r", &r);
  return gort::Main(argc, argv, run);
}
