// ipsock.cpp: address parsing, formatting and name resolution (mirrors
// net/ipsock.go, lookup.go, cgo_unix.go, sockaddr_posix.go).
//
// Literal addresses never leave this file's parsers; names go to
// getaddrinfo through the syscall boundary, as Go's cgo resolver does, so a
// slow DNS server costs a thread while the goroutine's P moves on.
#include <arpa/inet.h>
#include <netdb.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/un.h>

#include <cerrno>
#include <cstring>

#include "gort/syscall.hpp"
#include "net/fd_posix.hpp"

namespace gort::net {

std::string AddrError::Error() const {
  std::string s = Err;
  if (!Addr.empty()) s = "address " + Addr + ": " + s;
  return s;
}

std::string JoinHostPort(const std::string& host, const std::string& port) {
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + port;
  return host + ":" + port;
}

std::pair<std::string, std::string> SplitHostPort(const std::string& hostport, error* err) {
  auto fail = [&](const char* why) {
    auto e = std::make_shared<AddrError>();
    e->Err = why;
    e->Addr = hostport;
    *err = error(e);
    return std::pair<std::string, std::string>();
  };
  *err = error();
  size_t i = hostport.rfind(':');
  if (i == std::string::npos) return fail("missing port in address");
  std::string host;
  if (!hostport.empty() && hostport[0] == '[') {
    size_t end = hostport.find(']');
    if (end == std::string::npos) return fail("missing ']' in address");
    if (end + 1 == hostport.size()) return fail("missing port in address");
    if (end + 1 != i) return fail(hostport[end + 1] == ':' ? "too many colons in address" : "missing port in address");
    host = hostport.substr(1, end - 1);
  } else {
    host = hostport.substr(0, i);
    if (host.find(':') != std::string::npos) return fail("too many colons in address");
  }
  return {host, hostport.substr(i + 1)};
}

namespace {

std::string ipString(const sockaddr_storage& sa, int* port, std::string* zone) {
  char buf[INET6_ADDRSTRLEN];
  if (sa.ss_family == AF_INET) {
    auto* in = reinterpret_cast<const sockaddr_in*>(&sa);
    *port = ntohs(in->sin_port);
    inet_ntop(AF_INET, &in->sin_addr, buf, sizeof(buf));
    return buf;
  }
  auto* in6 = reinterpret_cast<const sockaddr_in6*>(&sa);
  *port = ntohs(in6->sin6_port);
  if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
    // Go prints IPv4-mapped addresses as IPv4.
    inet_ntop(AF_INET, &in6->sin6_addr.s6_addr[12], buf, sizeof(buf));
    return buf;
  }
  inet_ntop(AF_INET6, &in6->sin6_addr, buf, sizeof(buf));
  if (in6->sin6_scope_id != 0) *zone = std::to_string(in6->sin6_scope_id);
  return buf;
}

std::string ipPortString(const std::string& ip, int port, const std::string& zone) {
  std::string host = zone.empty() ? ip : ip + "%" + zone;
  return JoinHostPort(host, std::to_string(port));
}

error addrErr(const char* why, const std::string& addr) {
  auto e = std::make_shared<AddrError>();
  e->Err = why;
  e->Addr = addr;
  return error(e);
}

error parsePort(const std::string& service, const std::string& proto, int* port) {
  if (service.empty()) {
    *port = 0;
    return {};
  }
  bool numeric = true;
  long v = 0;
  for (char c : service) {
    if (c < '0' || c > '9') {
      numeric = false;
      break;
    }
    v = v * 10 + (c - '0');
    if (v > 65535) return addrErr("invalid port", service);
  }
  if (numeric) {
    *port = int(v);
    return {};
  }
  servent se, *res = nullptr;
  char buf[1024];
  if (getservbyname_r(service.c_str(), proto.c_str(), &se, buf, sizeof(buf), &res) == 0 && res) {
    *port = ntohs(uint16_t(res->s_port));
    return {};
  }
  return addrErr("unknown port", proto + "/" + service);
}

bool familyOK(int want, int got) { return want == AF_UNSPEC || want == got; }

internal::endpoint ipEndpoint(int family, const void* addr, int port, uint32_t scope) {
  internal::endpoint ep;
  if (family == AF_INET) {
    auto* in = reinterpret_cast<sockaddr_in*>(&ep.sa);
    in->sin_family = AF_INET;
    in->sin_port = htons(uint16_t(port));
    std::memcpy(&in->sin_addr, addr, 4);
    ep.len = sizeof(sockaddr_in);
  } else {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&ep.sa);
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(uint16_t(port));
    std::memcpy(&in6->sin6_addr, addr, 16);
    in6->sin6_scope_id = scope;
    ep.len = sizeof(sockaddr_in6);
  }
  return ep;
}

}  // namespace

std::string TCPAddr::String() const { return ipPortString(IP, Port, Zone); }
std::string UDPAddr::String() const { return ipPortString(IP, Port, Zone); }

std::pair<std::vector<std::string>, error> LookupHost(const std::string& host) {
  std::vector<std::string> out;
  in6_addr a6;
  in_addr a4;
  if (inet_pton(AF_INET, host.c_str(), &a4) == 1 || inet_pton(AF_INET6, host.c_str(), &a6) == 1) {
    out.push_back(host);
    return {out, {}};
  }
  if (host.empty()) {
    auto e = std::make_shared<DNSError>();
    e->Err = "no such host";
    e->Name = host;
    e->IsNotFound = true;
    return {out, error(e)};
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  int rc = syscall::Blocking([&] { return getaddrinfo(host.c_str(), nullptr, &hints, &res); });
  if (rc != 0) {
    auto e = std::make_shared<DNSError>();
    e->Name = host;
    if (rc == EAI_NONAME || rc == EAI_NODATA) {
      e->Err = "no such host";
      e->IsNotFound = true;
    } else {
      e->Err = gai_strerror(rc);
      e->IsTemporary = rc == EAI_AGAIN;
    }
    return {out, error(e)};
  }
  for (addrinfo* ai = res; ai; ai = ai->ai_next) {
    if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6) continue;
    sockaddr_storage ss{};
    std::memcpy(&ss, ai->ai_addr, ai->ai_addrlen);
    int port = 0;
    std::string zone;
    std::string ip = ipString(ss, &port, &zone);
    if (!zone.empty()) ip += "%" + zone;
    bool dup = false;
    for (auto& s : out) dup = dup || s == ip;
    if (!dup) out.push_back(ip);
  }
  freeaddrinfo(res);
  return {out, {}};
}

namespace internal {

bool parseNetwork(const std::string& network, netKind* k) {
  struct {
    const char* name;
    const char* base;
    int family, sotype;
  } static const table[] = {
      {"tcp", "tcp", AF_UNSPEC, SOCK_STREAM},        {"tcp4", "tcp", AF_INET, SOCK_STREAM},
      {"tcp6", "tcp", AF_INET6, SOCK_STREAM},        {"udp", "udp", AF_UNSPEC, SOCK_DGRAM},
      {"udp4", "udp", AF_INET, SOCK_DGRAM},          {"udp6", "udp", AF_INET6, SOCK_DGRAM},
      {"unix", "unix", AF_UNIX, SOCK_STREAM},        {"unixgram", "unixgram", AF_UNIX, SOCK_DGRAM},
      {"unixpacket", "unixpacket", AF_UNIX, SOCK_SEQPACKET},
  };
  for (auto& e : table) {
    if (network == e.name) {
      *k = netKind{e.base, e.family, e.sotype};
      return true;
    }
  }
  return false;
}

error resolve(const netKind& k, const std::string& address, bool forListen, std::vector<endpoint>* out) {
  error err;
  auto [host, service] = SplitHostPort(address, &err);
  if (err) return err;
  int port = 0;
  if (error e = parsePort(service, k.base, &port)) return e;
  std::string zone;
  if (size_t pct = host.find('%'); pct != std::string::npos) {
    zone = host.substr(pct + 1);
    host = host.substr(0, pct);
  }
  uint32_t scope = zone.empty() ? 0 : if_nametoindex(zone.c_str());
  if (!zone.empty() && scope == 0) scope = uint32_t(std::atoi(zone.c_str()));
  if (host.empty()) {
    // Listen: every address (dual-stack where allowed). Dial: this host.
    if (forListen) {
      int fam = k.family == AF_INET ? AF_INET : AF_INET6;
      uint8_t any[16] = {};
      out->push_back(ipEndpoint(fam, any, port, 0));
    } else {
      uint8_t lo4[4] = {127, 0, 0, 1};
      uint8_t lo6[16] = {};
      lo6[15] = 1;
      if (k.family == AF_INET6) {
        out->push_back(ipEndpoint(AF_INET6, lo6, port, 0));
      } else {
        out->push_back(ipEndpoint(AF_INET, lo4, port, 0));
      }
    }
    return {};
  }
  std::vector<std::string> ips;
  in_addr a4;
  in6_addr a6;
  if (inet_pton(AF_INET, host.c_str(), &a4) == 1 || inet_pton(AF_INET6, host.c_str(), &a6) == 1) {
    ips.push_back(host);
  } else {
    auto [names, lerr] = LookupHost(host);
    if (lerr) return lerr;
    ips = std::move(names);
  }
  for (auto& ip : ips) {
    std::string bare = ip.substr(0, ip.find('%'));
    if (inet_pton(AF_INET, bare.c_str(), &a4) == 1) {
      if (familyOK(k.family, AF_INET)) out->push_back(ipEndpoint(AF_INET, &a4, port, 0));
    } else if (inet_pton(AF_INET6, bare.c_str(), &a6) == 1) {
      if (familyOK(k.family, AF_INET6)) out->push_back(ipEndpoint(AF_INET6, &a6, port, scope));
    }
  }
  if (out->empty()) return addrErr("no suitable address found", host);
  // Listening on a name uses one address, IPv4 first (Go's
  // first(isIPv4)).
  if (forListen && out->size() > 1) {
    for (auto& ep : *out) {
      if (ep.sa.ss_family == AF_INET) {
        endpoint chosen = ep;
        out->assign(1, chosen);
        break;
      }
    }
    out->resize(1);
  }
  return {};
}

endpoint unixEndpoint(const std::string& name) {
  endpoint ep;
  auto* un = reinterpret_cast<sockaddr_un*>(&ep.sa);
  un->sun_family = AF_UNIX;
  size_t n = std::min(name.size(), sizeof(un->sun_path) - 1);
  std::memcpy(un->sun_path, name.data(), n);
  if (n > 0 && name[0] == '@') un->sun_path[0] = 0;  // abstract namespace
  ep.len = socklen_t(offsetof(sockaddr_un, sun_path) + n + (n > 0 && name[0] == '@' ? 0 : 1));
  return ep;
}

AddrPtr sockaddrToAddr(const sockaddr_storage& sa, socklen_t len, const netKind& k) {
  if (sa.ss_family == AF_UNIX) {
    auto a = std::make_shared<UnixAddr>();
    a->Net = k.base;
    auto* un = reinterpret_cast<const sockaddr_un*>(&sa);
    size_t n = len > offsetof(sockaddr_un, sun_path) ? len - offsetof(sockaddr_un, sun_path) : 0;
    if (n > 0 && un->sun_path[0] == 0) {
      a->Name = "@" + std::string(un->sun_path + 1, n - 1);
    } else {
      a->Name = std::string(un->sun_path, strnlen(un->sun_path, n));
    }
    return a;
  }
  if (sa.ss_family != AF_INET && sa.ss_family != AF_INET6) return nullptr;
  int port = 0;
  std::string zone;
  std::string ip = ipString(sa, &port, &zone);
  if (k.base == "udp") {
    auto a = std::make_shared<UDPAddr>();
    a->IP = ip;
    a->Port = port;
    a->Zone = zone;
    return a;
  }
  auto a = std::make_shared<TCPAddr>();
  a->IP = ip;
  a->Port = port;
  a->Zone = zone;
  return a;
}

}  // namespace internal
}  // namespace gort::net
