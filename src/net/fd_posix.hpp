// fd_posix.hpp: net's descriptor and address helpers, shared by the files
// of package net (mirrors net/fd_posix.go, sockaddr_posix.go, ipsock.go).
#pragma once

#include <sys/socket.h>

#include <string>
#include <vector>

#include "gort/net.hpp"
#include "internal/poll/fd.hpp"

namespace gort::net::internal {

struct netFD {
  netFD(int sysfd, int fam, int sot, std::string n)
      : pfd(sysfd, sot == SOCK_STREAM, sot != SOCK_DGRAM && sot != SOCK_RAW, false),
        family(fam),
        sotype(sot),
        net(std::move(n)) {}
  poll::FD pfd;
  int family;
  int sotype;
  std::string net;
  AddrPtr laddr, raddr;
  std::string unlinkPath;  // Unix listener: remove the socket file on Close
};

// What a network name means.
struct netKind {
  std::string base;  // "tcp", "udp", "unix", "unixgram", "unixpacket"
  int family;        // AF_INET, AF_INET6, AF_UNSPEC (either) or AF_UNIX
  int sotype;
};
// false: unknown network.
bool parseNetwork(const std::string& network, netKind* k);

// One resolved end point of an IP network.
struct endpoint {
  sockaddr_storage sa{};
  socklen_t len = 0;
};
// Resolves "host:port" for kind k (dial: host "" means this machine; listen:
// all addresses). Errors are AddrError or DNSError.
error resolve(const netKind& k, const std::string& address, bool forListen, std::vector<endpoint>* out);
// Unix socket name to sockaddr ("@name": abstract namespace).
endpoint unixEndpoint(const std::string& name);
AddrPtr sockaddrToAddr(const sockaddr_storage& sa, socklen_t len, const netKind& k);

error unknownNetwork(const std::string& network);
error wrapSyscall(const char* call, error err);  // Errno -> os::SyscallError
error opError(const char* op, const netFD* fd, error err);

}  // namespace gort::net::internal
