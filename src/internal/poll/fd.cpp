// fd.cpp: internal/poll's FD (design in fd.hpp).
#include "internal/poll/fd.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "gort/io.hpp"
#include "gort/net.hpp"
#include "gort/os.hpp"
#include "gort/syscall.hpp"
#include "runtime/runtime2.hpp"
#include "runtime/stubs.hpp"

namespace gort::poll {

namespace {

struct deadlineExceeded final : error::Interface {
  std::string Error() const override { return "i/o timeout"; }
  bool Timeout() const override { return true; }
  bool Temporary() const override { return true; }
};

// Linux returns EINVAL for reads and writes of 1 GiB or more on some
// descriptors; Go caps each call there too.
constexpr size_t kMaxRW = 1 << 30;

internal::g* self() { return internal::getg(); }

}  // namespace

const error& ErrNetClosing = *new error(errors::New("use of closed network connection"));
const error& ErrFileClosing = *new error(errors::New("use of closed file"));
const error& ErrDeadlineExceeded = *new error(make_error<deadlineExceeded>());
const error& ErrNotPollable = *new error(errors::New("not pollable"));

}  // namespace gort::poll

// The packages that re-export poll's errors (Go: net.ErrClosed =
// poll.ErrNetClosing, os.ErrDeadlineExceeded = poll.ErrDeadlineExceeded)
// define them here: globals in one translation unit are initialised in
// order, across units in no defined order.
namespace gort::net {
const error& ErrClosed = poll::ErrNetClosing;
}
namespace gort::os {
const error& ErrDeadlineExceeded = poll::ErrDeadlineExceeded;
}

namespace gort::poll {

FD::~FD() {
  if (!closed_) Close();
}

error FD::Init(bool pollable) {
  if (!pollable) return {};
  int err = 0;
  pd_ = internal::pollOpen(sysfd_, &err);
  if (!pd_ && err != EPERM) return syscall::Errno(err);
  if (!pd_) {
    // Not pollable after all (a regular file): make it blocking again.
    int fl = fcntl(sysfd_, F_GETFL);
    if (fl >= 0) fcntl(sysfd_, F_SETFL, fl & ~O_NONBLOCK);
  }
  return {};
}

// ---- references and the per-direction locks (fd_mutex.go) ----

bool FD::Incref() {
  internal::RuntimeEntry entry;
  internal::lockGuard guard(&mu_);
  if (closed_) return false;
  refs_++;
  return true;
}

void FD::Decref() {
  internal::RuntimeEntry entry;
  internal::lock(&mu_);
  dropRef();
}

void FD::dropRef() {
  bool last = --refs_ == 0 && closed_;
  internal::unlock(&mu_);
  if (!last) return;
  if (pd_) internal::pollClose(pd_);
  pd_ = nullptr;
  ::close(sysfd_);
  sysfd_ = -1;
}

bool FD::rwlock(Dir d) {
  internal::RuntimeEntry entry;
  internal::lock(&mu_);
  if (closed_) {
    internal::unlock(&mu_);
    return false;
  }
  refs_++;
  while (locked_[d]) {
    // Another goroutine reads (writes): queue behind it. Close wakes us.
    waiting_[d].push(self());
    internal::goparkunlock(&mu_, internal::waitReason::semacquire);
    internal::lock(&mu_);
    if (closed_) {
      dropRef();
      return false;
    }
  }
  locked_[d] = true;
  internal::unlock(&mu_);
  return true;
}

void FD::rwunlock(Dir d) {
  internal::RuntimeEntry entry;
  internal::lock(&mu_);
  locked_[d] = false;
  internal::g* next = waiting_[d].pop();
  if (next) internal::goready(next);
  dropRef();
}

error FD::Close() {
  internal::RuntimeEntry entry;
  internal::lock(&mu_);
  if (closed_) {
    internal::unlock(&mu_);
    return closingErr();
  }
  closed_ = true;
  refs_++;
  // Wake everyone: lock waiters here, goroutines parked in I/O through the
  // poller (they fail with the closing error).
  for (auto& q : waiting_) {
    while (internal::g* gp = q.pop()) internal::goready(gp);
  }
  if (pd_) internal::pollUnblock(pd_);
  dropRef();
  return {};
}

error FD::convertErr(int pollErr) const {
  switch (pollErr) {
    case internal::pollNoError: return {};
    case internal::pollErrClosing: return closingErr();
    case internal::pollErrTimeout: return ErrDeadlineExceeded;
    default: return ErrNotPollable;
  }
}

// A system call on a descriptor the poller does not cover may block: it
// goes through the syscall boundary. Poller-backed descriptors are
// non-blocking and skip it (Go pays for it on every call). Returns the
// result and errno, read on the thread that made the call: after the
// boundary the goroutine may run on another thread.
template <class F>
std::pair<ssize_t, int> FD::call(F&& f) {
  auto once = [&f] {
    ssize_t r = f();
    return std::pair<ssize_t, int>(r, r < 0 ? errno : 0);
  };
  if (pd_) return once();
  return syscall::Blocking(once);
}

// ---- I/O ----

std::pair<int64_t, error> FD::Read(void* p, size_t n) {
  if (!rwlock(kRead)) return {0, closingErr()};
  struct Unlock {
    FD* fd;
    ~Unlock() { fd->rwunlock(kRead); }
  } unlockGuard{this};
  if (n == 0 && isStream_) return {0, {}};
  if (pd_) {
    if (error e = convertErr(internal::pollReset(pd_, 'r'))) return {0, e};
  }
  if (isStream_ && n > kMaxRW) n = kMaxRW;
  for (;;) {
    auto [r, e] = call([&] { return ::read(sysfd_, p, n); });
    if (r < 0) {
      if (e == EINTR) continue;
      if (e == EAGAIN && pd_) {
        if (error pe = convertErr(internal::pollWait(pd_, 'r'))) return {0, pe};
        continue;
      }
      return {0, syscall::Errno(e)};
    }
    if (r == 0 && zeroReadIsEOF_) return {0, io::EOF_};
    return {r, {}};
  }
}

std::pair<int64_t, error> FD::Pread(void* p, size_t n, int64_t off) {
  if (!Incref()) return {0, closingErr()};
  struct Unref {
    FD* fd;
    ~Unref() { fd->Decref(); }
  } unref{this};
  if (isStream_ && n > kMaxRW) n = kMaxRW;
  for (;;) {
    auto [r, e] = call([&] { return ::pread(sysfd_, p, n, off); });
    if (r < 0) {
      if (e == EINTR) continue;
      return {0, syscall::Errno(e)};
    }
    if (r == 0 && zeroReadIsEOF_ && n > 0) return {0, io::EOF_};
    return {r, {}};
  }
}

std::pair<int64_t, error> FD::Write(const void* p, size_t n) {
  if (!rwlock(kWrite)) return {0, closingErr()};
  struct Unlock {
    FD* fd;
    ~Unlock() { fd->rwunlock(kWrite); }
  } unlockGuard{this};
  if (pd_) {
    if (error e = convertErr(internal::pollReset(pd_, 'w'))) return {0, e};
  }
  const char* b = static_cast<const char*>(p);
  size_t done = 0;
  for (;;) {
    size_t max = n - done;
    if (isStream_ && max > kMaxRW) max = kMaxRW;
    auto [r, e] = call([&] { return ::write(sysfd_, b + done, max); });
    if (r > 0) done += size_t(r);
    if (done == n) return {int64_t(done), {}};
    if (r < 0) {
      if (e == EINTR) continue;
      if (e == EAGAIN && pd_) {
        if (error pe = convertErr(internal::pollWait(pd_, 'w'))) return {int64_t(done), pe};
        continue;
      }
      return {int64_t(done), syscall::Errno(e)};
    }
    if (r == 0) return {int64_t(done), io::ErrUnexpectedEOF};
  }
}

std::pair<int64_t, error> FD::ReadFrom(void* p, size_t n, sockaddr_storage* from, socklen_t* fromlen) {
  if (!rwlock(kRead)) return {0, closingErr()};
  struct Unlock {
    FD* fd;
    ~Unlock() { fd->rwunlock(kRead); }
  } unlockGuard{this};
  if (pd_) {
    if (error e = convertErr(internal::pollReset(pd_, 'r'))) return {0, e};
  }
  for (;;) {
    *fromlen = sizeof(*from);
    ssize_t r = ::recvfrom(sysfd_, p, n, 0, reinterpret_cast<sockaddr*>(from), fromlen);
    if (r >= 0) return {r, {}};
    int e = errno;
    if (e == EINTR) continue;
    if (e == EAGAIN && pd_) {
      if (error pe = convertErr(internal::pollWait(pd_, 'r'))) return {0, pe};
      continue;
    }
    return {0, syscall::Errno(e)};
  }
}

std::pair<int64_t, error> FD::WriteTo(const void* p, size_t n, const sockaddr* to, socklen_t tolen) {
  if (!rwlock(kWrite)) return {0, closingErr()};
  struct Unlock {
    FD* fd;
    ~Unlock() { fd->rwunlock(kWrite); }
  } unlockGuard{this};
  if (pd_) {
    if (error e = convertErr(internal::pollReset(pd_, 'w'))) return {0, e};
  }
  for (;;) {
    ssize_t r = ::sendto(sysfd_, p, n, 0, to, tolen);
    if (r >= 0) return {r, {}};
    int e = errno;
    if (e == EINTR) continue;
    if (e == EAGAIN && pd_) {
      if (error pe = convertErr(internal::pollWait(pd_, 'w'))) return {0, pe};
      continue;
    }
    return {0, syscall::Errno(e)};
  }
}

std::pair<int, error> FD::Accept(sockaddr_storage* sa, socklen_t* salen, const char** errcall) {
  *errcall = "";
  if (!rwlock(kRead)) return {-1, closingErr()};
  struct Unlock {
    FD* fd;
    ~Unlock() { fd->rwunlock(kRead); }
  } unlockGuard{this};
  if (pd_) {
    if (error e = convertErr(internal::pollReset(pd_, 'r'))) return {-1, e};
  }
  for (;;) {
    *salen = sizeof(*sa);
    int s = ::accept4(sysfd_, reinterpret_cast<sockaddr*>(sa), salen, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (s >= 0) return {s, {}};
    int e = errno;
    if (e == EAGAIN && pd_) {
      if (error pe = convertErr(internal::pollWait(pd_, 'r'))) return {-1, pe};
      continue;
    }
    // The peer gave up before we accepted: try the next one (as Go does).
    if (e == EINTR || e == ECONNABORTED) continue;
    // EMFILE/ENFILE and the rest: the caller decides (they are Temporary).
    *errcall = "accept4";
    return {-1, syscall::Errno(e)};
  }
}

error FD::Connect(const sockaddr* sa, socklen_t len) {
  if (!Incref()) return closingErr();
  struct Unref {
    FD* fd;
    ~Unref() { fd->Decref(); }
  } unref{this};
  for (;;) {
    if (::connect(sysfd_, sa, len) == 0) return {};
    int e = errno;
    if (e == EINTR) continue;
    if (e != EINPROGRESS && e != EALREADY) return syscall::Errno(e);
    break;
  }
  // In progress: wait for writability, then ask for the outcome.
  if (!pd_) return syscall::Errno(EINPROGRESS);
  for (;;) {
    if (error pe = convertErr(internal::pollWait(pd_, 'w'))) return pe;
    int soerr = 0;
    socklen_t sl = sizeof(soerr);
    if (getsockopt(sysfd_, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0) return syscall::Errno(errno);
    if (soerr == 0) return {};
    if (soerr != EINPROGRESS && soerr != EALREADY && soerr != EINTR) return syscall::Errno(soerr);
  }
}

error FD::Shutdown(int how) {
  if (!Incref()) return closingErr();
  int r = ::shutdown(sysfd_, how);
  int e = errno;
  Decref();
  return r == 0 ? error() : syscall::Errno(e);
}

error FD::SetDeadline(int64_t t, int mode) {
  if (!Incref()) return closingErr();
  if (!pd_) {
    Decref();
    return ErrNotPollable;  // Go: os.ErrNoDeadline for files
  }
  // A deadline in the past must read as "expired", never as "none".
  int64_t d = t == 0 ? 0 : (t <= internal::nanotime() ? -1 : t);
  internal::pollSetDeadline(pd_, d, mode);
  Decref();
  return {};
}

}  // namespace gort::poll
