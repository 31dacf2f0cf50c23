// print.hpp: Printer, the text sink of fatal reports and tracebacks
// (print.cpp; Go's print with its gp.writebuf redirection).
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <type_traits>

namespace gort::internal {

// Printed as Go prints hex(v): "0x1f".
struct Hex {
  uint64_t v;
};

// Text gathered in a buffer the caller owns. Nothing here allocates or
// takes a lock, so the fatal path (which may have interrupted malloc or
// stdio holding their locks) prints through it. Two modes:
//   - to a file descriptor: the buffer is written out whenever it fills, by
//     flush() and by the destructor (an empty buffer writes through);
//   - into the buffer alone (runtime::Stack): what does not fit is dropped,
//     and size() is what was kept.
class Printer {
 public:
  Printer(std::span<char> buf, int fd) : buf_(buf.data()), cap_(buf.size()), fd_(fd) {}
  explicit Printer(std::span<char> buf) : Printer(buf, -1) {}
  ~Printer() { flush(); }
  Printer(const Printer&) = delete;
  Printer& operator=(const Printer&) = delete;

  Printer& operator<<(std::string_view s);
  Printer& operator<<(char c) { return *this << std::string_view(&c, 1); }
  Printer& operator<<(Hex h);
  template <std::integral T>
    requires(!std::same_as<T, char> && !std::same_as<T, bool>)
  Printer& operator<<(T v) {
    if constexpr (std::is_signed_v<T>) {
      return decimal(v < 0, v < 0 ? uint64_t(0) - uint64_t(v) : uint64_t(v));
    } else {
      return decimal(false, uint64_t(v));
    }
  }

  // Writes out what the buffer holds (descriptor mode).
  void flush();
  // Bytes kept (buffer mode).
  size_t size() const { return len_; }

 private:
  Printer& decimal(bool negative, uint64_t magnitude);

  char* buf_;
  size_t cap_;
  size_t len_ = 0;
  int fd_;
};

// Write to fd 2 at once, without allocating (print.go); used by fatal
// paths. Printer (print.hpp) gathers longer text first.
void printstr(const char* s);
void printint(int64_t v);
void printhex(uint64_t v);
// Before a fatal report: what the program wrote to stdout comes out first,
// as Go's unbuffered writes do. Never blocks: a stream another thread has
// locked is skipped (print.cpp). Not on the signal stack: a fault inside
// stdio leaves the stream half-updated under this thread's own lock.
void flushStdio();
bool onSignalStack();  // whether the calling thread runs on its sigaltstack

}  // namespace gort::internal
