// print.cpp: allocation-free output for fatal paths (mirrors runtime/print.go).
// Fatal errors can happen with the heap corrupt or a lock held, so nothing
// here allocates or takes a lock (flushStdio only tries stdio's locks).
// printstr/printint/printhex write at once; Printer (print.hpp) gathers a
// report or a traceback in a buffer first.
#include "runtime/print.hpp"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>


namespace gort::internal {

namespace {

void writeAll(int fd, const char* s, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, s, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return;
    s += w;
    n -= size_t(w);
  }
}

}  // namespace

Printer& Printer::operator<<(std::string_view s) {
  if (fd_ >= 0 && len_ + s.size() > cap_) {
    flush();
    if (s.size() > cap_) {  // larger than the buffer: straight out
      writeAll(fd_, s.data(), s.size());
      return *this;
    }
  }
  size_t n = s.size() < cap_ - len_ ? s.size() : cap_ - len_;
  if (n > 0) std::memcpy(buf_ + len_, s.data(), n);
  len_ += n;
  return *this;
}

Printer& Printer::operator<<(Hex h) {
  char buf[18];
  char* e = buf + sizeof buf;
  char* b = e;
  uint64_t v = h.v;
  do {
    *--b = "0123456789abcdef"[v & 15];
    v >>= 4;
  } while (v);
  *--b = 'x';
  *--b = '0';
  return *this << std::string_view(b, size_t(e - b));
}

Printer& Printer::decimal(bool negative, uint64_t u) {
  char buf[21];
  char* e = buf + sizeof buf;
  char* b = e;
  do {
    *--b = char('0' + u % 10);
    u /= 10;
  } while (u);
  if (negative) *--b = '-';
  return *this << std::string_view(b, size_t(e - b));
}

void Printer::flush() {
  if (fd_ < 0) return;
  writeAll(fd_, buf_, len_);
  len_ = 0;
}

void printstr(const char* s) { Printer({}, 2) << s; }
void printint(int64_t v) { Printer({}, 2) << v; }
void printhex(uint64_t v) { Printer({}, 2) << Hex{v}; }

bool onSignalStack() {
  stack_t ss{};
  return sigaltstack(nullptr, &ss) == 0 && (ss.ss_flags & SS_ONSTACK);
}

// A thread that faults inside stdio holds the stream's (recursive) lock
// with its buffer half-updated, and only a fault runs on the signal stack:
// there nothing is flushed (the caller asks onSignalStack). Elsewhere a
// stream whose lock another thread holds is skipped rather than waited for.
void flushStdio() {
  for (FILE* f : {stdout, stderr}) {
    if (ftrylockfile(f) != 0) continue;
    fflush_unlocked(f);
    funlockfile(f);
  }
}

}  // namespace gort::internal
