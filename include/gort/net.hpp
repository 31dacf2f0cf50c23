// net.hpp: package net: TCP, UDP and Unix-domain sockets over the netpoller.
//
// A goroutine blocked in Accept, Read, Write or Dial parks; its thread
// keeps running other goroutines. Errors are values (Go's error results):
//
//   auto [ln, err] = gort::net::Listen("tcp", "127.0.0.1:0");
//   auto [conn, err2] = ln.Accept();
//   auto [n, err3] = conn.Read(buf, sizeof buf);   // io::EOF_ at the end
//
// Operation errors are *OpError as in Go ("read tcp 127.0.0.1:1->127.0.0.1:2:
// i/o timeout"); err.Timeout() tells deadline expiry apart, errors::Is(err,
// net::ErrClosed) a use after Close, errors::Is(err, os::ErrDeadlineExceeded)
// a deadline.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "gort/errors.hpp"
#include "gort/io.hpp"
#include "gort/os.hpp"
#include "gort/time.hpp"

namespace gort::net {

// net.ErrClosed: "use of closed network connection".
extern const error& ErrClosed;

// Addr is a network end point: Network() is "tcp", "udp", "unix", ...;
// String() is "127.0.0.1:80", "[::1]:80" or a socket path.
struct Addr {
  virtual ~Addr() = default;
  virtual std::string Network() const = 0;
  virtual std::string String() const = 0;
};
using AddrPtr = std::shared_ptr<const Addr>;

// TCPAddr and UDPAddr: IP is textual ("127.0.0.1", "::1"; empty for the
// unspecified address).
struct TCPAddr : Addr {
  std::string IP;
  int Port = 0;
  std::string Zone;
  std::string Network() const override { return "tcp"; }
  std::string String() const override;
};
struct UDPAddr : Addr {
  std::string IP;
  int Port = 0;
  std::string Zone;
  std::string Network() const override { return "udp"; }
  std::string String() const override;
};
struct UnixAddr : Addr {
  std::string Name;
  std::string Net = "unix";  // "unix", "unixgram" or "unixpacket"
  std::string Network() const override { return Net; }
  std::string String() const override { return Name; }
};

// OpError is the error type of every operation (Go's *net.OpError).
struct OpError final : error::Interface {
  std::string Op;   // "dial", "read", "write", "accept", "listen", "close", ...
  std::string Net;  // "tcp", "udp", "unix", ...
  AddrPtr Source;   // local end, if known
  AddrPtr Addr;     // remote end (or the listener's address)
  error Err;
  std::string Error() const override;
  gort::error Unwrap() const override { return Err; }
  bool Timeout() const override { return Err.Timeout(); }
  bool Temporary() const override { return Err.Temporary(); }
};

// AddrError, UnknownNetworkError and DNSError, with Go's messages.
struct AddrError final : error::Interface {
  std::string Err, Addr;
  std::string Error() const override;
};
struct DNSError final : error::Interface {
  std::string Err, Name;
  bool IsTimeout = false, IsTemporary = false, IsNotFound = false;
  std::string Error() const override { return "lookup " + Name + ": " + Err; }
  bool Timeout() const override { return IsTimeout; }
  bool Temporary() const override { return IsTimeout || IsTemporary; }
};

namespace internal {
struct netFD;
}

// Conn is a connection (Go's net.Conn, and the TCPConn, UDPConn and
// UnixConn methods); copies share it. The zero Conn is nil.
class Conn {
 public:
  Conn() = default;
  explicit operator bool() const { return fd_ != nullptr; }

  std::pair<int64_t, error> Read(void* p, size_t n);
  std::pair<int64_t, error> Write(const void* p, size_t n);
  std::pair<int64_t, error> Write(const std::string& s) { return Write(s.data(), s.size()); }
  error Close();
  AddrPtr LocalAddr() const;
  AddrPtr RemoteAddr() const;
  // Deadlines are absolute (time::Now().Add(d)); the zero Time clears one.
  // An expired deadline makes blocked and later operations fail with an
  // error whose Timeout() is true, until it is moved.
  error SetDeadline(time::Time t);
  error SetReadDeadline(time::Time t);
  error SetWriteDeadline(time::Time t);
  // TCP and Unix streams: shut down one direction.
  error CloseRead();
  error CloseWrite();
  error SetNoDelay(bool noDelay);  // TCP
  // TCP: sec < 0 (default) closes gracefully in the background; 0 discards
  // unsent data and resets the connection; > 0 lingers up to sec seconds.
  error SetLinger(int sec);
  // Packet sockets (UDP, unixgram).
  std::pair<int64_t, error> ReadFrom(void* p, size_t n, AddrPtr* from);
  std::pair<int64_t, error> WriteTo(const void* p, size_t n, const Addr& to);

  explicit Conn(std::shared_ptr<internal::netFD> fd) : fd_(std::move(fd)) {}

 private:
  std::shared_ptr<internal::netFD> fd_;
};

// Listener is a stream listener (Go's net.Listener); copies share it.
class Listener {
 public:
  Listener() = default;
  explicit operator bool() const { return fd_ != nullptr; }
  // Accept waits for the next connection. Running out of descriptors
  // returns an error with Temporary() true; the listener keeps working.
  std::pair<Conn, error> Accept();
  error Close();
  AddrPtr Addr() const;

  explicit Listener(std::shared_ptr<internal::netFD> fd) : fd_(std::move(fd)) {}

 private:
  std::shared_ptr<internal::netFD> fd_;
};

// network: "tcp", "tcp4", "tcp6", "udp", "udp4", "udp6", "unix",
// "unixgram", "unixpacket". address: "host:port" (host may be a name,
// resolved with getaddrinfo through the syscall boundary) or a path.
std::pair<Conn, error> Dial(const std::string& network, const std::string& address);
std::pair<Conn, error> DialTimeout(const std::string& network, const std::string& address, time::Duration timeout);
std::pair<Listener, error> Listen(const std::string& network, const std::string& address);
// Packet sockets: "udp*", "unixgram".
std::pair<Conn, error> ListenPacket(const std::string& network, const std::string& address);

std::pair<std::vector<std::string>, error> LookupHost(const std::string& host);
std::pair<std::string, std::string> SplitHostPort(const std::string& hostport, error* err);
std::string JoinHostPort(const std::string& host, const std::string& port);

}  // namespace gort::net
