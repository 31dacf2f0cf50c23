// netpoll_epoll.cpp: the Linux back end of the network poller (mirrors
// runtime/netpoll_epoll.go).
//
// Descriptors are added once, edge-triggered, for input, output and
// peer-hangup; an eventfd in the same epoll set lets netpollBreak interrupt
// a blocked netpoll (a new timer is due earlier, or work appeared).
//
// Timeouts use epoll_pwait2's nanosecond timespec: epoll_wait's millisecond
// timeout (what Go 1.19 uses) rounds a 1.3 ms sleep to 1 ms or 2 ms, so
// timers fire early (the poller spins) or up to a millisecond late. Kernels
// before 5.11 lack epoll_pwait2; then millisecond timeouts are rounded up.
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>

#include "runtime/netpoll.hpp"
#include "runtime/panic.hpp"
#include "runtime/runtime2.hpp"

namespace gort::internal {

namespace {

int epfd = -1;
int breakfd = -1;
std::atomic<uint32_t> wakeSig{0};  // a break is pending; coalesces netpollBreak calls
std::atomic<bool> havePwait2{true};

// Sentinel epoll data for the eventfd (pollDescs are real pointers).
epoll_data_t breakData() {
  epoll_data_t d;
  d.ptr = &breakfd;
  return d;
}

int waitEvents(epoll_event* events, int n, int64_t delay) {
  if (havePwait2.load(std::memory_order_relaxed)) {
    struct timespec ts;
    struct timespec* tsp = nullptr;
    if (delay >= 0) {
      ts.tv_sec = delay / 1000000000;
      ts.tv_nsec = delay % 1000000000;
      tsp = &ts;
    }
    int r = epoll_pwait2(epfd, events, n, tsp, nullptr);
    if (r >= 0 || errno != ENOSYS) return r;
    havePwait2.store(false, std::memory_order_relaxed);
  }
  int ms = -1;
  if (delay == 0) {
    ms = 0;
  } else if (delay > 0) {
    ms = delay >= int64_t(1e15) ? int(1e9) : int((delay + 999999) / 1000000);
  }
  return epoll_wait(epfd, events, n, ms);
}

}  // namespace

void netpollinit() {
  epfd = epoll_create1(EPOLL_CLOEXEC);
  if (epfd < 0) throw_("runtime: netpollinit failed (epoll_create1)");
  breakfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (breakfd < 0) throw_("runtime: netpollinit failed (eventfd)");
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data = breakData();
  if (epoll_ctl(epfd, EPOLL_CTL_ADD, breakfd, &ev) != 0) throw_("runtime: netpollinit failed (epoll_ctl)");
}

bool netpollIsPollDescriptor(int fd) { return fd == epfd || fd == breakfd; }

int netpollopen(int fd, pollDesc* pd) {
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
  ev.data.ptr = pd;
  return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) == 0 ? 0 : errno;
}

void netpollclose(int fd) {
  epoll_event ev{};
  epoll_ctl(epfd, EPOLL_CTL_DEL, fd, &ev);
}

void netpollBreak() {
  uint32_t expect = 0;
  if (!wakeSig.compare_exchange_strong(expect, 1, std::memory_order_acq_rel)) return;
  uint64_t one = 1;
  for (;;) {
    // Raw system calls: the runtime's own descriptor traffic is not user I/O
    // for TSan to track (the runtime is not race-instrumented).
    ssize_t n = syscall(SYS_write, breakfd, &one, sizeof(one));
    if (n == sizeof(one) || errno == EAGAIN) return;  // EAGAIN: a wake-up is pending anyway
    if (errno != EINTR) throw_("runtime: netpollBreak write failed");
  }
}

// Events taken per call. epoll_wait looks at each socket it reports
// (tcp_poll); the goroutine reads it after those of the events before it
// have run. With one P those all run here, and past a few dozen the
// socket's lines have left the cache by then: 32 (echo, 1000 connections,
// GOMAXPROCS=1: -7% wall against Go's 128). With more Ps the batch is
// shared out and smaller ones mean more polls contending on the one epoll
// instance (32 was 3-7% slower at GOMAXPROCS=2), so Go's 128.
namespace {
int eventsPerPoll() { return gomaxprocs.load(std::memory_order_relaxed) > 1 ? 128 : 32; }
}  // namespace

gList netpoll(int64_t delay) {
  gList list;
  if (epfd < 0) return list;
  epoll_event events[128];
  int n;
  for (;;) {
    n = waitEvents(events, eventsPerPoll(), delay);
    if (n >= 0) break;
    if (errno != EINTR) throw_("runtime: netpoll failed");
    // Interrupted: a blocking poll returns so the caller recomputes its
    // timeout (Go does the same).
    if (delay > 0) return list;
  }
  for (int i = 0; i < n; i++) {
    epoll_event& ev = events[i];
    if (ev.data.ptr == &breakfd) {
      if (delay != 0) {
        // Only a blocking poll consumes the break: a non-blocking poll's
        // caller was not the one it was meant for.
        uint64_t buf;
        (void)!syscall(SYS_read, breakfd, &buf, sizeof(buf));
        wakeSig.store(0, std::memory_order_release);
      }
      continue;
    }
    int mode = 0;
    if (ev.events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) mode += 'r';
    if (ev.events & (EPOLLOUT | EPOLLHUP | EPOLLERR)) mode += 'w';
    if (mode == 0) continue;
    auto* pd = static_cast<pollDesc*>(ev.data.ptr);
    // An error alone (no hang-up or data to report) means the descriptor
    // cannot be polled any more, as in Go.
    if (ev.events == EPOLLERR) netpollSetEventErr(pd);
    netpollready(&list, pd, mode);
  }
  return list;
}

}  // namespace gort::internal
