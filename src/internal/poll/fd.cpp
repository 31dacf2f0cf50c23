// fd.cpp: internal/poll's FD (design in fd.hpp).
#include "internal/poll/fd.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "gort/io.hpp"
#include "gort/net.hpp"
#include "gort/os.hpp"
#include "gort/syscall.hpp"
#include "runtime/os_linux.hpp"
#include "runtime/panic.hpp"
#include "runtime/runtime2.hpp"
#include "runtime/sanitizer.hpp"
#include "runtime/sema.hpp"

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

// The system calls of reads and writes. Normal builds make them raw, as
// Go's syscall package does: libc's read and write are cancellation points
// and pay two more calls each for it. Sanitizer builds keep libc's, which
// the sanitizers intercept (ASan checks the buffer; TSan orders a write
// before the read that receives its bytes).
constexpr bool kRawSyscalls = !internal::san::kASan && !internal::san::kTSan;

ssize_t sysRead(int fd, void* p, size_t n) { return kRawSyscalls ? ::syscall(SYS_read, fd, p, n) : ::read(fd, p, n); }

ssize_t sysWrite(int fd, const void* p, size_t n) {
  return kRawSyscalls ? ::syscall(SYS_write, fd, p, n) : ::write(fd, p, n);
}

// recv and send with no flags: read and write's effect on a socket without
// the file layer (vfs_read/vfs_write, the position lock, sock_read_iter)
// they pass through first; on an echo round trip at GOMAXPROCS=1 that
// layer was 4% of the CPU.
ssize_t sysRecv(int fd, void* p, size_t n) {
  return kRawSyscalls ? ::syscall(SYS_recvfrom, fd, p, n, 0, nullptr, nullptr) : ::recv(fd, p, n, 0);
}

ssize_t sysSend(int fd, const void* p, size_t n) {
  return kRawSyscalls ? ::syscall(SYS_sendto, fd, p, n, 0, nullptr, 0) : ::send(fd, p, n, 0);
}

ssize_t sysRecvmsg(int fd, msghdr* msg) { return kRawSyscalls ? ::syscall(SYS_recvmsg, fd, msg, 0) : ::recvmsg(fd, msg, 0); }

// read(2) that also reports the bytes left in a TCP receive queue (-1 if
// the kernel did not say).
ssize_t readReportingQueue(int fd, void* p, size_t n, int* left) {
  iovec iov{p, n};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof(control);
  ssize_t r = sysRecvmsg(fd, &msg);
  *left = -1;
  if (r < 0) return r;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level == SOL_TCP && c->cmsg_type == TCP_CM_INQ) std::memcpy(left, CMSG_DATA(c), sizeof(int));
  }
  return r;
}

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
//
// One atomic word, as Go's fdMutex: the closed bit, a lock bit per
// direction, the reference count and a count of waiters per direction. An
// uncontended operation costs one compare-and-swap to start and one to end;
// a waiter sleeps on its direction's semaphore, released by the unlocker
// (one waiter) or by Close (all of them, which then see the closed bit).

namespace {
constexpr uint64_t kClosed = 1, kLockBit[2] = {1 << 1, 1 << 2};
constexpr uint64_t kRef = 1 << 3, kRefMask = ((uint64_t(1) << 20) - 1) << 3;
constexpr uint64_t kWait[2] = {uint64_t(1) << 23, uint64_t(1) << 43};
constexpr uint64_t kWaitMask[2] = {((uint64_t(1) << 20) - 1) << 23, ((uint64_t(1) << 20) - 1) << 43};
}  // namespace

FD::~FD() {
  if ((state_.load(std::memory_order_acquire) & kClosed) == 0) Close();
}

bool FD::Incref() {
  uint64_t old = state_.load(std::memory_order_relaxed);
  do {
    if (old & kClosed) return false;
    if (((old + kRef) & kRefMask) == 0) internal::throw_("too many concurrent operations on a single file or socket");
  } while (!state_.compare_exchange_weak(old, old + kRef, std::memory_order_acq_rel));
  return true;
}

void FD::Decref() {
  internal::san::release(this);  // see destroy()
  uint64_t old = state_.load(std::memory_order_relaxed);
  do {
    if ((old & kRefMask) == 0) internal::throw_("inconsistent poll.fdMutex");
  } while (!state_.compare_exchange_weak(old, old - kRef, std::memory_order_acq_rel));
  if (((old - kRef) & (kClosed | kRefMask)) == kClosed) destroy();
}

// The last reference of a closed FD is gone: nobody can use the number now.
// Every operation's system calls happen before this close; TSan, which
// tracks descriptors, learns it from the release each reference drop makes
// (the runtime's atomics are not instrumented).
void FD::destroy() {
  internal::san::acquire(this);
  if (pd_) internal::pollClose(pd_);
  pd_ = nullptr;
  ::close(sysfd_);
  sysfd_ = -1;
}

bool FD::rwlock(Dir d) {
  for (;;) {
    uint64_t old = state_.load(std::memory_order_relaxed);
    if (old & kClosed) return false;
    bool free = (old & kLockBit[d]) == 0;
    uint64_t next = free ? (old | kLockBit[d]) + kRef : old + kWait[d];
    if ((next & (free ? kRefMask : kWaitMask[d])) == 0) {
      internal::throw_("too many concurrent operations on a single file or socket");
    }
    if (!state_.compare_exchange_weak(old, next, std::memory_order_acq_rel)) continue;
    if (free) return true;
    // Another goroutine reads (writes): sleep until it unlocks (it takes
    // our wait count off) or Close wakes us, then try again.
    internal::semacquire(&sema_[d]);
  }
}

void FD::rwunlock(Dir d) {
  internal::san::release(this);  // see destroy()
  uint64_t old = state_.load(std::memory_order_relaxed), next;
  do {
    if ((old & kLockBit[d]) == 0 || (old & kRefMask) == 0) internal::throw_("inconsistent poll.fdMutex");
    next = (old & ~kLockBit[d]) - kRef;
    if (old & kWaitMask[d]) next -= kWait[d];
  } while (!state_.compare_exchange_weak(old, next, std::memory_order_acq_rel));
  if (old & kWaitMask[d]) internal::semrelease(&sema_[d]);
  if ((next & (kClosed | kRefMask)) == kClosed) destroy();
}

error FD::Close() {
  uint64_t old = state_.load(std::memory_order_relaxed), next;
  do {
    if (old & kClosed) return closingErr();
    next = ((old | kClosed) + kRef) & ~(kWaitMask[kRead] | kWaitMask[kWrite]);
  } while (!state_.compare_exchange_weak(old, next, std::memory_order_acq_rel));
  // Wake everyone: lock waiters (they see the closed bit), goroutines
  // parked in I/O through the poller (they fail with the closing error).
  for (Dir d : {kRead, kWrite}) {
    for (uint64_t w = (old & kWaitMask[d]) / kWait[d]; w > 0; w--) internal::semrelease(&sema_[d]);
  }
  if (pd_) internal::pollUnblock(pd_);
  Decref();
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

error FD::Result::err() const { return errnum != 0 ? syscall::Errno(errnum) : pollErr; }

// The loop every operation shares (the retry loops of fd_unix.go): make
// the call, again after EINTR, and after EAGAIN once the poller reports
// mode ready. A failure is either the call's errno or the poller's error.
template <class F>
FD::Result FD::ioLoop(int mode, F&& f) {
  for (;;) {
    auto [r, e] = call(f);
    if (r >= 0) return {r, 0, {}};
    if (e == EINTR) continue;
    if (e == EAGAIN && pd_) {
      if (error pe = convertErr(internal::pollWait(pd_, mode))) return {-1, 0, pe};
      continue;
    }
    return {-1, e, {}};
  }
}

// An operation in one direction: holds that direction's lock and a
// reference while it lives, and clears the poller's stale readiness for it.
struct FD::Op {
  FD* fd;
  Dir d;
  error err;  // set: the operation must not start (closed, expired)
  Op(FD* f, Dir dir, bool prepare = true) : fd(f), d(dir) {
    if (!fd->rwlock(d)) {
      fd = nullptr;
      err = f->closingErr();
    } else if (prepare && fd->pd_) {
      err = fd->convertErr(internal::pollReset(fd->pd_, d == kRead ? 'r' : 'w'));
    }
  }
  ~Op() {
    if (fd) fd->rwunlock(d);
  }
};

// ---- I/O ----

// Read skips the system call Go would make only to learn EAGAIN: when the
// previous read drained the queue (drained_), it waits for the poller's
// readiness first. That wait consumes a readiness signalled since, so the
// call that follows is no less informed than Go's.
std::pair<int64_t, error> FD::Read(void* p, size_t n) {
  Op op(this, kRead, false);
  if (op.err) return {0, op.err};
  if (n == 0) return {0, {}};  // as Go: a 0 from the call would read as EOF
  if (pd_) {
    int pe = drained_ ? internal::pollWait(pd_, 'r') : internal::pollReset(pd_, 'r');
    if (error e = convertErr(pe)) return {0, e};
  }
  drained_ = false;
  if (isStream_ && n > kMaxRW) n = kMaxRW;
  int left = -1;
  Result r = ioLoop('r', [&] {
    if (trackQueue_) return readReportingQueue(sysfd_, p, n, &left);
    return plainSocket_ ? sysRecv(sysfd_, p, n) : sysRead(sysfd_, p, n);
  });
  if (r.n < 0) return {0, r.err()};
  if (r.n == 0 && zeroReadIsEOF_) return {0, io::EOF_};
  drained_ = left == 0;
  return {r.n, {}};
}

std::pair<int64_t, error> FD::Pread(void* p, size_t n, int64_t off) {
  if (!Incref()) return {0, closingErr()};
  struct Unref {
    FD* fd;
    ~Unref() { fd->Decref(); }
  } unref{this};
  if (isStream_ && n > kMaxRW) n = kMaxRW;
  Result r = ioLoop('r', [&] { return ::pread(sysfd_, p, n, off); });
  if (r.n < 0) return {0, r.err()};
  if (r.n == 0 && zeroReadIsEOF_ && n > 0) return {0, io::EOF_};
  return {r.n, {}};
}

std::pair<int64_t, error> FD::Write(const void* p, size_t n) {
  Op op(this, kWrite);
  if (op.err) return {0, op.err};
  const char* b = static_cast<const char*>(p);
  size_t done = 0;
  for (;;) {
    size_t max = n - done;
    if (isStream_ && max > kMaxRW) max = kMaxRW;
    Result r = ioLoop('w', [&] { return plainSocket_ ? sysSend(sysfd_, b + done, max) : sysWrite(sysfd_, b + done, max); });
    if (r.n > 0) done += size_t(r.n);
    if (done == n) return {int64_t(done), {}};
    if (r.n < 0) return {int64_t(done), r.err()};
    if (r.n == 0) return {int64_t(done), io::ErrUnexpectedEOF};
  }
}

std::pair<int64_t, error> FD::ReadFrom(void* p, size_t n, sockaddr_storage* from, socklen_t* fromlen) {
  Op op(this, kRead);
  if (op.err) return {0, op.err};
  drained_ = false;
  Result r = ioLoop('r', [&] {
    *fromlen = sizeof(*from);
    return ::recvfrom(sysfd_, p, n, 0, reinterpret_cast<sockaddr*>(from), fromlen);
  });
  if (r.n < 0) return {0, r.err()};
  return {r.n, {}};
}

std::pair<int64_t, error> FD::WriteTo(const void* p, size_t n, const sockaddr* to, socklen_t tolen) {
  Op op(this, kWrite);
  if (op.err) return {0, op.err};
  Result r = ioLoop('w', [&] { return ::sendto(sysfd_, p, n, 0, to, tolen); });
  if (r.n < 0) return {0, r.err()};
  return {r.n, {}};
}

std::pair<int, error> FD::Accept(sockaddr_storage* sa, socklen_t* salen, const char** errcall) {
  *errcall = "";
  Op op(this, kRead);
  if (op.err) return {-1, op.err};
  Result r = ioLoop('r', [&] {
    for (;;) {
      *salen = sizeof(*sa);
      int s = ::accept4(sysfd_, reinterpret_cast<sockaddr*>(sa), salen, SOCK_NONBLOCK | SOCK_CLOEXEC);
      // The peer gave up before we accepted: try the next one (as Go does).
      if (s >= 0 || errno != ECONNABORTED) return ssize_t(s);
    }
  });
  if (r.n >= 0) return {int(r.n), {}};
  // EMFILE/ENFILE and the rest: the caller decides (they are Temporary).
  if (r.errnum != 0) *errcall = "accept4";
  return {-1, r.err()};
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

void FD::TrackReadQueue() {
  if (!pd_) return;
  int one = 1;
  trackQueue_ = setsockopt(sysfd_, SOL_TCP, TCP_INQ, &one, sizeof(one)) == 0;
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
