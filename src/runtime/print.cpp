// print.cpp: allocation-free output to stderr for fatal paths (mirrors
// runtime/print.go). Fatal errors can happen with the heap corrupt or a lock
// held, so nothing here allocates or takes a lock (flushStdio only tries
// stdio's locks).
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

#include "runtime/stubs.hpp"

namespace gort::internal {

namespace {
void writeAll(const char* s, size_t n) {
  while (n > 0) {
    ssize_t w = write(2, s, n);
    if (w <= 0) return;
    s += w;
    n -= size_t(w);
  }
}
}  // namespace

void printstr(const char* s) { writeAll(s, strlen(s)); }

// A thread that faults inside stdio holds the stream's (recursive) lock
// with its buffer half-updated, and only a fault runs on the signal stack:
// there nothing is flushed. Elsewhere a stream whose lock another thread
// holds is skipped rather than waited for.
void flushStdio() {
  stack_t ss{};
  if (sigaltstack(nullptr, &ss) == 0 && (ss.ss_flags & SS_ONSTACK)) return;
  for (FILE* f : {stdout, stderr}) {
    if (ftrylockfile(f) != 0) continue;
    fflush_unlocked(f);
    funlockfile(f);
  }
}

void printint(int64_t v) {
  char buf[24];
  char* e = buf + sizeof(buf);
  char* b = e;
  uint64_t u = v < 0 ? uint64_t(0) - uint64_t(v) : uint64_t(v);
  do {
    *--b = char('0' + u % 10);
    u /= 10;
  } while (u);
  if (v < 0) *--b = '-';
  writeAll(b, size_t(e - b));
}

std::string hexString(uint64_t v) {
  char buf[24];
  snprintf(buf, sizeof buf, "0x%lx", static_cast<unsigned long>(v));
  return buf;
}

void printhex(uint64_t v) {
  char buf[20];
  char* e = buf + sizeof(buf);
  char* b = e;
  do {
    *--b = "0123456789abcdef"[v & 15];
    v >>= 4;
  } while (v);
  *--b = 'x';
  *--b = '0';
  writeAll(b, size_t(e - b));
}

}  // namespace gort::internal
