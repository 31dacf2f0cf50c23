// fd.hpp: internal/poll's FD, the descriptor under net's connections and
// os's files (mirrors internal/poll/fd_unix.go, fd_mutex.go,
// fd_poll_runtime.go).
//
// An FD is pollable (socket, pipe: non-blocking, registered with the
// netpoller; an operation that would block parks the goroutine) or not
// (regular file: each call goes through the syscall boundary, so a slow
// disk costs a thread, not a P).
//
// Concurrency (fd_mutex.go's contract): reads are serialised with reads,
// writes with writes, and every operation holds a reference. Close marks the
// FD closed, wakes everything blocked on it (they fail with
// ErrNetClosing / ErrFileClosing), and the descriptor itself is closed when
// the last reference goes, so a concurrent operation never sees its number
// reused. Unlike Go, Close does not wait for that moment. As in Go, the
// references, the two direction locks and their waiter counts share one
// atomic word (fd.cpp).
#pragma once

#include <sys/socket.h>

#include <atomic>
#include <cstdint>
#include <utility>

#include "gort/errors.hpp"
#include "runtime/netpoll.hpp"

namespace gort::poll {

// internal/poll's errors.
extern const error& ErrNetClosing;        // "use of closed network connection" (net.ErrClosed)
extern const error& ErrFileClosing;       // "use of closed file"
extern const error& ErrDeadlineExceeded;  // "i/o timeout" (os.ErrDeadlineExceeded); Timeout() true
extern const error& ErrNotPollable;       // "not pollable"

class FD {
 public:
  FD(int sysfd, bool isStream, bool zeroReadIsEOF, bool isFile)
      : sysfd_(sysfd),
        isStream_(isStream),
        zeroReadIsEOF_(zeroReadIsEOF),
        isFile_(isFile),
        plainSocket_(!isFile && (isStream || !zeroReadIsEOF)) {}
  FD(const FD&) = delete;
  FD& operator=(const FD&) = delete;
  ~FD();

  // Registers with the poller if pollable; a descriptor epoll refuses
  // (a regular file) becomes a blocking one.
  error Init(bool pollable);
  int Sysfd() const { return sysfd_; }

  error Close();
  std::pair<int64_t, error> Read(void* p, size_t n);
  std::pair<int64_t, error> Write(const void* p, size_t n);
  std::pair<int64_t, error> Pread(void* p, size_t n, int64_t off);
  std::pair<int64_t, error> ReadFrom(void* p, size_t n, sockaddr_storage* from, socklen_t* fromlen);
  std::pair<int64_t, error> WriteTo(const void* p, size_t n, const sockaddr* to, socklen_t tolen);
  // accept4 with the poller; returns the new descriptor and the name of the
  // failing call ("accept4") with the error.
  std::pair<int, error> Accept(sockaddr_storage* sa, socklen_t* salen, const char** errcall);
  // Connect: waits for a non-blocking connect to finish.
  error Connect(const sockaddr* sa, socklen_t len);
  error Shutdown(int how);
  // A TCP socket: have each read report the bytes left in the receive
  // queue (TCP_INQ), so a read that finds nothing to return afterwards need
  // not be tried (see Read). Quietly does nothing where the kernel lacks it.
  void TrackReadQueue();
  // Deadlines in runtime nanotime (0: none, in the past: expired now).
  error SetDeadline(int64_t t, int mode);
  // fd_mutex.go's reference: hold it across direct uses of Sysfd().
  bool Incref();
  void Decref();

 private:
  enum Dir { kRead = 0, kWrite = 1 };
  struct Op;
  // A system call's outcome: n >= 0, or its errno, or the poller's error.
  struct Result {
    ssize_t n;
    int errnum;
    error pollErr;
    error err() const;
  };
  bool rwlock(Dir d);
  void rwunlock(Dir d);
  void destroy();
  error closingErr() const { return isFile_ ? ErrFileClosing : ErrNetClosing; }
  error convertErr(int pollErr) const;
  template <class F>
  std::pair<ssize_t, int> call(F&& f);
  template <class F>
  Result ioLoop(int mode, F&& f);

  int sysfd_;
  bool isStream_, zeroReadIsEOF_, isFile_;
  // A stream or datagram socket: Read and Write use recv and send. Not a
  // seqpacket one, where write adds MSG_EOR and send would not.
  bool plainSocket_;
  bool trackQueue_ = false;  // TrackReadQueue succeeded
  // Under the read lock: the last read left the receive queue empty, and
  // it cleared the poller's read readiness before its system call, so any
  // data that came after it has set that readiness again.
  bool drained_ = false;
  internal::pollDesc* pd_ = nullptr;
  std::atomic<uint64_t> state_{0};        // see "references and locks" in fd.cpp
  std::atomic<uint32_t> sema_[2] = {0, 0};  // read / write lock waiters sleep here
};

}  // namespace gort::poll
