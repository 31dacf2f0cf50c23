// syscall_linux.cpp: package syscall (mirrors syscall/syscall_linux.go):
// the boundary helper and Errno, the error values of system calls.
#include "gort/syscall.hpp"

#include <cerrno>
#include <cstring>
#include <string>
#include <string_view>

#include "runtime/runtime2.hpp"

namespace gort::internal {

bool onGoroutine() {
  g* gp = getg();
  return gp && gp != gp->mp->g0 && gp->mp->pp;
}

}  // namespace gort::internal

namespace gort::syscall {

std::string ErrnoError::Error() const {
  // Go's table (zerrors_linux_amd64.go) is glibc's strerror with a
  // lower-case first letter for 1 to ERFKILL, less the numbers Linux leaves
  // unused, with one older text (ESTALE); any other number is "errno N".
  if (errnum == ESTALE) return "stale NFS file handle";
  char buf[128];
  const char* s = errnum > 0 && errnum <= ERFKILL ? strerror_r(errnum, buf, sizeof(buf)) : nullptr;
  if (!s || std::string_view(s).starts_with("Unknown error")) return "errno " + std::to_string(errnum);
  std::string out = s;
  if (!out.empty() && out[0] >= 'A' && out[0] <= 'Z' && !(out.size() > 1 && out[1] >= 'A' && out[1] <= 'Z')) {
    out[0] = char(out[0] - 'A' + 'a');
  }
  return out;
}

bool ErrnoError::Timeout() const { return errnum == EAGAIN || errnum == EWOULDBLOCK || errnum == ETIMEDOUT; }

bool ErrnoError::Temporary() const {
  return errnum == EINTR || errnum == EMFILE || errnum == ENFILE || errnum == ECONNRESET ||
         errnum == ECONNABORTED || Timeout();
}

bool ErrnoError::Equals(const error::Interface& o) const {
  auto* e = dynamic_cast<const ErrnoError*>(&o);
  return e && e->errnum == errnum;
}

error Errno(int e) { return make_error<ErrnoError>(e); }

int ErrnoOf(const error& err) {
  auto* e = errors::As<ErrnoError>(err);
  return e ? e->errnum : 0;
}

}  // namespace gort::syscall
