// net.cpp: package net's connections, listeners, Dial and Listen (mirrors
// net/net.go, dial.go, sock_posix.go, tcpsock_posix.go, udpsock_posix.go,
// unixsock_posix.go).
//
// Every socket is created non-blocking and registered with the netpoller;
// the poll::FD underneath parks goroutines on EAGAIN. TCP connections get
// TCP_NODELAY and listeners SO_REUSEADDR, as in Go. Errors are wrapped the
// way Go wraps them: system call errors in os::SyscallError ("connect:
// connection refused"), everything but io::EOF in OpError.
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "gort/syscall.hpp"
#include "net/fd_posix.hpp"
#include "runtime/os_linux.hpp"

namespace gort::net {

std::string OpError::Error() const {
  // Appends, not "a" + b temporaries: GCC 12 at -O3 warns falsely
  // (-Wrestrict) about the temporaries' inlined copies.
  std::string s = Op;
  if (!Net.empty()) s.append(" ").append(Net);
  if (Source) s.append(" ").append(Source->String());
  if (Addr) s.append(Source ? "->" : " ").append(Addr->String());
  return s.append(": ").append(Err.Error());
}

namespace internal {

namespace {
struct unknownNetworkError final : error::Interface {
  explicit unknownNetworkError(std::string n) : net(std::move(n)) {}
  std::string Error() const override { return "unknown network " + net; }
  std::string net;
};
}  // namespace

error unknownNetwork(const std::string& network) { return make_error<unknownNetworkError>(network); }

error wrapSyscall(const char* call, error err) {
  if (syscall::ErrnoOf(err) != 0 && !errors::As<os::SyscallError>(err)) return os::NewSyscallError(call, err);
  return err;
}

error opErrorAddrs(const char* op, const std::string& net, AddrPtr src, AddrPtr dst, error err) {
  auto e = std::make_shared<OpError>();
  e->Op = op;
  e->Net = net;
  e->Source = std::move(src);
  e->Addr = std::move(dst);
  e->Err = std::move(err);
  return error(e);
}

error opError(const char* op, const netFD* fd, error err) {
  if (!err) return err;
  return opErrorAddrs(op, fd->net, fd->laddr, fd->raddr, std::move(err));
}

namespace {

int64_t deadlineNanos(time::Time t) {
  if (t.IsZero()) return 0;
  int64_t left = time::Until(t).Nanoseconds();
  return left <= 0 ? -1 : gort::internal::nanotime() + left;
}

std::pair<std::shared_ptr<netFD>, error> newSocket(int family, int sotype, const std::string& net) {
  int s = ::socket(family, sotype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (s < 0) return {nullptr, os::NewSyscallError("socket", syscall::Errno(errno))};
  auto fd = std::make_shared<netFD>(s, family, sotype, net);
  if (error err = fd->pfd.Init(true)) return {nullptr, err};
  return {fd, {}};
}

void setDefaultSockopts(int s, int family, int sotype, bool dualStack) {
  int one = 1, zero = 0;
  if (family == AF_INET6 && sotype != SOCK_RAW) {
    int v6only = dualStack ? zero : one;
    setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof(v6only));
  }
  if ((sotype == SOCK_DGRAM || sotype == SOCK_RAW) && family != AF_UNIX) {
    setsockopt(s, SOL_SOCKET, SO_BROADCAST, &one, sizeof(one));
  }
}

void fillAddrs(netFD* fd, const netKind& k) {
  sockaddr_storage sa{};
  socklen_t len = sizeof(sa);
  if (getsockname(fd->pfd.Sysfd(), reinterpret_cast<sockaddr*>(&sa), &len) == 0) fd->laddr = sockaddrToAddr(sa, len, k);
  len = sizeof(sa);
  if (getpeername(fd->pfd.Sysfd(), reinterpret_cast<sockaddr*>(&sa), &len) == 0) fd->raddr = sockaddrToAddr(sa, len, k);
}

// A TCP connection's options: no Nagle delay (as in Go), and reads that
// report what is left in the receive queue (poll::FD::TrackReadQueue).
void initTCPConn(netFD* fd) {
  int one = 1;
  setsockopt(fd->pfd.Sysfd(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  fd->pfd.TrackReadQueue();
}

// Connects to one end point; the error is bare (the caller wraps it).
std::pair<std::shared_ptr<netFD>, error> dialOne(const netKind& k, const std::string& network, const endpoint& ep,
                                                 int64_t deadline) {
  auto [fd, err] = newSocket(ep.sa.ss_family, k.sotype, network);
  if (err) return {nullptr, err};
  setDefaultSockopts(fd->pfd.Sysfd(), ep.sa.ss_family, k.sotype, false);
  if (deadline != 0) fd->pfd.SetDeadline(deadline, 'w');
  err = fd->pfd.Connect(reinterpret_cast<const sockaddr*>(&ep.sa), ep.len);
  if (deadline != 0) fd->pfd.SetDeadline(0, 'w');
  if (err) {
    fd->pfd.Close();
    return {nullptr, wrapSyscall("connect", err)};
  }
  if (k.base == "tcp") initTCPConn(fd.get());
  fillAddrs(fd.get(), k);
  return {fd, {}};
}

AddrPtr endpointAddr(const endpoint& ep, const netKind& k) { return sockaddrToAddr(ep.sa, ep.len, k); }

std::pair<Conn, error> dial(const std::string& network, const std::string& address, int64_t deadline) {
  netKind k;
  if (!parseNetwork(network, &k)) return {Conn(), opErrorAddrs("dial", network, nullptr, nullptr, unknownNetwork(network))};
  if (k.family == AF_UNIX) {
    endpoint ep = unixEndpoint(address);
    auto a = std::make_shared<UnixAddr>();
    a->Name = address;
    a->Net = k.base;
    auto [fd, err] = dialOne(k, network, ep, deadline);
    if (err) return {Conn(), opErrorAddrs("dial", network, nullptr, a, err)};
    if (!fd->raddr) fd->raddr = a;
    return {Conn(fd), {}};
  }
  std::vector<endpoint> eps;
  if (error err = resolve(k, address, false, &eps)) return {Conn(), opErrorAddrs("dial", network, nullptr, nullptr, err)};
  error first;
  for (auto& ep : eps) {
    auto [fd, err] = dialOne(k, network, ep, deadline);
    if (!err) return {Conn(fd), {}};
    if (!first) first = opErrorAddrs("dial", network, nullptr, endpointAddr(ep, k), err);
    if (deadline != 0 && gort::internal::nanotime() >= deadline) break;
  }
  return {Conn(), first};
}

// Binds (and listens, for streams) on ep.
std::pair<std::shared_ptr<netFD>, error> bindOne(const netKind& k, const std::string& network, const endpoint& ep,
                                                 bool dualStack) {
  auto [fd, err] = newSocket(ep.sa.ss_family, k.sotype, network);
  if (err) return {nullptr, err};
  int s = fd->pfd.Sysfd();
  setDefaultSockopts(s, ep.sa.ss_family, k.sotype, dualStack);
  if (k.family != AF_UNIX && k.sotype == SOCK_STREAM) {
    int one = 1;
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  }
  if (::bind(s, reinterpret_cast<const sockaddr*>(&ep.sa), ep.len) != 0) {
    int e = errno;
    fd->pfd.Close();
    return {nullptr, os::NewSyscallError("bind", syscall::Errno(e))};
  }
  if (k.sotype == SOCK_STREAM || k.sotype == SOCK_SEQPACKET) {
    // The kernel caps the backlog at net.core.somaxconn, as Go asks it to.
    if (::listen(s, 65535) != 0) {
      int e = errno;
      fd->pfd.Close();
      return {nullptr, os::NewSyscallError("listen", syscall::Errno(e))};
    }
  }
  fillAddrs(fd.get(), k);
  return {fd, {}};
}

std::pair<std::shared_ptr<netFD>, error> listenFD(const std::string& network, const std::string& address,
                                                  bool stream) {
  netKind k;
  const char* op = "listen";
  if (!parseNetwork(network, &k) || (k.sotype == SOCK_DGRAM) == stream) {
    return {nullptr, opErrorAddrs(op, network, nullptr, nullptr, unknownNetwork(network))};
  }
  if (k.family == AF_UNIX) {
    auto a = std::make_shared<UnixAddr>();
    a->Name = address;
    a->Net = k.base;
    auto [fd, err] = bindOne(k, network, unixEndpoint(address), false);
    if (err) return {nullptr, opErrorAddrs(op, network, nullptr, a, err)};
    fd->laddr = a;
    if (stream && !address.empty() && address[0] != '@') fd->unlinkPath = address;
    return {fd, {}};
  }
  std::vector<endpoint> eps;
  if (error err = resolve(k, address, true, &eps)) return {nullptr, opErrorAddrs(op, network, nullptr, nullptr, err)};
  // An empty or unspecified host on "tcp"/"udp" listens on both families.
  bool dualStack = k.family == AF_UNSPEC && eps[0].sa.ss_family == AF_INET6;
  auto [fd, err] = bindOne(k, network, eps[0], dualStack);
  if (err) return {nullptr, opErrorAddrs(op, network, nullptr, endpointAddr(eps[0], k), err)};
  return {fd, {}};
}

}  // namespace
}  // namespace internal

using internal::netFD;
using internal::opError;

// ---- Conn ----

std::pair<int64_t, error> Conn::Read(void* p, size_t n) {
  auto [k, err] = fd_->pfd.Read(p, n);
  if (err && err != io::EOF_) err = opError("read", fd_.get(), internal::wrapSyscall("read", err));
  return {k, err};
}

std::pair<int64_t, error> Conn::Write(const void* p, size_t n) {
  auto [k, err] = fd_->pfd.Write(p, n);
  if (err) err = opError("write", fd_.get(), internal::wrapSyscall("write", err));
  return {k, err};
}

error Conn::Close() { return opError("close", fd_.get(), fd_->pfd.Close()); }

AddrPtr Conn::LocalAddr() const { return fd_->laddr; }
AddrPtr Conn::RemoteAddr() const { return fd_->raddr; }

error Conn::SetDeadline(time::Time t) {
  return opError("set", fd_.get(), fd_->pfd.SetDeadline(internal::deadlineNanos(t), 'r' + 'w'));
}
error Conn::SetReadDeadline(time::Time t) {
  return opError("set", fd_.get(), fd_->pfd.SetDeadline(internal::deadlineNanos(t), 'r'));
}
error Conn::SetWriteDeadline(time::Time t) {
  return opError("set", fd_.get(), fd_->pfd.SetDeadline(internal::deadlineNanos(t), 'w'));
}

error Conn::CloseRead() {
  return opError("close", fd_.get(), internal::wrapSyscall("shutdown", fd_->pfd.Shutdown(SHUT_RD)));
}
error Conn::CloseWrite() {
  return opError("close", fd_.get(), internal::wrapSyscall("shutdown", fd_->pfd.Shutdown(SHUT_WR)));
}

error Conn::SetNoDelay(bool noDelay) {
  if (!fd_->pfd.Incref()) return opError("set", fd_.get(), ErrClosed);
  int v = noDelay ? 1 : 0;
  int r = setsockopt(fd_->pfd.Sysfd(), IPPROTO_TCP, TCP_NODELAY, &v, sizeof(v));
  int e = errno;
  fd_->pfd.Decref();
  return r == 0 ? error() : opError("set", fd_.get(), os::NewSyscallError("setsockopt", syscall::Errno(e)));
}

error Conn::SetLinger(int sec) {
  if (!fd_->pfd.Incref()) return opError("set", fd_.get(), ErrClosed);
  struct linger lg{sec >= 0 ? 1 : 0, sec >= 0 ? sec : 0};
  int r = setsockopt(fd_->pfd.Sysfd(), SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
  int e = errno;
  fd_->pfd.Decref();
  return r == 0 ? error() : opError("set", fd_.get(), os::NewSyscallError("setsockopt", syscall::Errno(e)));
}

std::pair<int64_t, error> Conn::ReadFrom(void* p, size_t n, AddrPtr* from) {
  sockaddr_storage sa{};
  socklen_t len = sizeof(sa);
  auto [k, err] = fd_->pfd.ReadFrom(p, n, &sa, &len);
  if (err) return {k, opError("read", fd_.get(), internal::wrapSyscall("recvfrom", err))};
  internal::netKind kind;
  internal::parseNetwork(fd_->net, &kind);
  if (from) *from = internal::sockaddrToAddr(sa, len, kind);
  return {k, {}};
}

std::pair<int64_t, error> Conn::WriteTo(const void* p, size_t n, const Addr& to) {
  internal::netKind kind;
  internal::parseNetwork(fd_->net, &kind);
  internal::endpoint ep;
  if (fd_->family == AF_UNIX) {
    ep = internal::unixEndpoint(to.String());
  } else {
    std::vector<internal::endpoint> eps;
    kind.family = fd_->family == AF_INET ? AF_INET : AF_UNSPEC;
    if (error err = internal::resolve(kind, to.String(), false, &eps)) return {0, opError("write", fd_.get(), err)};
    ep = eps[0];
    if (fd_->family == AF_INET6 && ep.sa.ss_family == AF_INET) {
      // A dual-stack socket sends to IPv4 through a v4-mapped address.
      auto* in = reinterpret_cast<sockaddr_in*>(&eps[0].sa);
      internal::endpoint m;
      auto* in6 = reinterpret_cast<sockaddr_in6*>(&m.sa);
      in6->sin6_family = AF_INET6;
      in6->sin6_port = in->sin_port;
      in6->sin6_addr.s6_addr[10] = 0xff;
      in6->sin6_addr.s6_addr[11] = 0xff;
      std::memcpy(&in6->sin6_addr.s6_addr[12], &in->sin_addr, 4);
      m.len = sizeof(sockaddr_in6);
      ep = m;
    }
  }
  auto [k, err] = fd_->pfd.WriteTo(p, n, reinterpret_cast<const sockaddr*>(&ep.sa), ep.len);
  if (err) {
    auto dst = internal::sockaddrToAddr(ep.sa, ep.len, kind);
    return {k, internal::opErrorAddrs("write", fd_->net, fd_->laddr, dst, internal::wrapSyscall("sendto", err))};
  }
  return {k, {}};
}

// ---- Listener ----

std::pair<Conn, error> Listener::Accept() {
  sockaddr_storage sa{};
  socklen_t len = sizeof(sa);
  const char* call = "";
  auto [s, err] = fd_->pfd.Accept(&sa, &len, &call);
  if (err) {
    if (*call) err = os::NewSyscallError(call, err);
    return {Conn(), internal::opErrorAddrs("accept", fd_->net, nullptr, fd_->laddr, err)};
  }
  auto fd = std::make_shared<netFD>(s, fd_->family, fd_->sotype, fd_->net);
  if (error e = fd->pfd.Init(true)) {
    return {Conn(), internal::opErrorAddrs("accept", fd_->net, nullptr, fd_->laddr, e)};
  }
  internal::netKind kind;
  internal::parseNetwork(fd_->net, &kind);
  if (kind.base == "tcp") internal::initTCPConn(fd.get());
  fd->raddr = internal::sockaddrToAddr(sa, len, kind);
  sockaddr_storage local{};
  socklen_t localLen = sizeof(local);
  if (getsockname(s, reinterpret_cast<sockaddr*>(&local), &localLen) == 0) {
    fd->laddr = internal::sockaddrToAddr(local, localLen, kind);
  }
  return {Conn(fd), {}};
}

error Listener::Close() {
  error err = fd_->pfd.Close();
  if (!err && !fd_->unlinkPath.empty()) ::unlink(fd_->unlinkPath.c_str());
  if (!err) return err;
  return internal::opErrorAddrs("close", fd_->net, nullptr, fd_->laddr, err);
}

AddrPtr Listener::Addr() const { return fd_->laddr; }

// ---- Dial / Listen ----

std::pair<Conn, error> Dial(const std::string& network, const std::string& address) {
  return internal::dial(network, address, 0);
}

std::pair<Conn, error> DialTimeout(const std::string& network, const std::string& address, time::Duration timeout) {
  int64_t deadline = timeout.Nanoseconds() > 0 ? gort::internal::nanotime() + timeout.Nanoseconds() : 0;
  return internal::dial(network, address, deadline);
}

std::pair<Listener, error> Listen(const std::string& network, const std::string& address) {
  auto [fd, err] = internal::listenFD(network, address, true);
  if (err) return {Listener(), err};
  return {Listener(fd), {}};
}

std::pair<Conn, error> ListenPacket(const std::string& network, const std::string& address) {
  auto [fd, err] = internal::listenFD(network, address, false);
  if (err) return {Conn(), err};
  return {Conn(fd), {}};
}

}  // namespace gort::net
