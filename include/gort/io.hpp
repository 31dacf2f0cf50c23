// io.hpp: package io's error values and helpers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>

#include "gort/errors.hpp"

namespace gort::io {

// io.EOF ("EOF"): the end of input, returned unwrapped so callers may
// compare with ==. Named EOF_ because <cstdio> defines EOF as a macro.
extern const error& EOF_;
extern const error& ErrUnexpectedEOF;  // "unexpected EOF"
extern const error& ErrShortWrite;     // "short write"
extern const error& ErrClosedPipe;     // "io: read/write on closed pipe"

// ReadFull reads exactly n bytes from r (anything with Read(void*, size_t)
// returning {n, err}); err is EOF if nothing was read, ErrUnexpectedEOF
// if the input ended part way.
template <class Reader>
std::pair<int64_t, error> ReadFull(Reader& r, void* buf, size_t n) {
  auto* p = static_cast<char*>(buf);
  size_t got = 0;
  error err;
  while (got < n && !err) {
    auto [k, e] = r.Read(p + got, n - got);
    got += size_t(k);
    err = e;
  }
  if (got >= n) return {int64_t(got), error()};
  if (got > 0 && err == EOF_) err = ErrUnexpectedEOF;
  return {int64_t(got), err};
}

}  // namespace gort::io
