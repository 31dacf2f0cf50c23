// time.cpp: package time's Duration and Time (mirrors time/time.go).
//
// A Time holds Unix nanoseconds and, when it came from Now, the runtime's
// monotonic reading (nanotime): Go's wall/ext pair without the location.
// Arithmetic between two monotonic times uses the monotonic readings only.
#include <time.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <climits>

#include "gort/time.hpp"
#include "runtime/os_linux.hpp"
#include "runtime/proc.hpp"

namespace gort::time {

namespace {

// Writes the fraction v/10^prec into the end of buf (omitting trailing
// zeros and the point if all are zero); returns the new start and v/10^prec.
size_t fmtFrac(char* buf, size_t w, uint64_t* v, int prec) {
  bool print = false;
  for (int i = 0; i < prec; i++) {
    uint64_t digit = *v % 10;
    print = print || digit != 0;
    if (print) buf[--w] = char('0' + digit);
    *v /= 10;
  }
  if (print) buf[--w] = '.';
  return w;
}

size_t fmtInt(char* buf, size_t w, uint64_t v) {
  if (v == 0) {
    buf[--w] = '0';
  } else {
    for (; v > 0; v /= 10) buf[--w] = char('0' + v % 10);
  }
  return w;
}

}  // namespace

std::string Duration::String() const {
  char buf[32];
  size_t w = sizeof(buf);
  uint64_t u = uint64_t(ns_);
  bool neg = ns_ < 0;
  if (neg) u = -u;
  if (u < uint64_t(Second.Nanoseconds())) {
    int prec;
    buf[--w] = 's';
    if (u == 0) return "0s";
    if (u < uint64_t(Microsecond.Nanoseconds())) {
      prec = 0;
      buf[--w] = 'n';
    } else if (u < uint64_t(Millisecond.Nanoseconds())) {
      prec = 3;
      buf[--w] = '\xB5';  // U+00B5 'µ' in UTF-8
      buf[--w] = '\xC2';
    } else {
      prec = 6;
      buf[--w] = 'm';
    }
    w = fmtFrac(buf, w, &u, prec);
    w = fmtInt(buf, w, u);
  } else {
    buf[--w] = 's';
    w = fmtFrac(buf, w, &u, 9);
    w = fmtInt(buf, w, u % 60);
    u /= 60;
    if (u > 0) {
      buf[--w] = 'm';
      w = fmtInt(buf, w, u % 60);
      u /= 60;
      if (u > 0) {
        buf[--w] = 'h';
        w = fmtInt(buf, w, u);
      }
    }
  }
  if (neg) buf[--w] = '-';
  return std::string(buf + w, sizeof(buf) - w);
}

double Duration::Seconds() const {
  int64_t sec = ns_ / Second.Nanoseconds(), nsec = ns_ % Second.Nanoseconds();
  return double(sec) + double(nsec) / 1e9;
}
double Duration::Minutes() const {
  int64_t m = ns_ / Minute.Nanoseconds(), nsec = ns_ % Minute.Nanoseconds();
  return double(m) + double(nsec) / (60 * 1e9);
}
double Duration::Hours() const {
  int64_t h = ns_ / Hour.Nanoseconds(), nsec = ns_ % Hour.Nanoseconds();
  return double(h) + double(nsec) / (60 * 60 * 1e9);
}

Duration Duration::Truncate(Duration m) const {
  if (m.ns_ <= 0) return *this;
  return Duration(ns_ - ns_ % m.ns_);
}

Duration Duration::Round(Duration m) const {
  if (m.ns_ <= 0) return *this;
  int64_t r = ns_ % m.ns_;
  if (ns_ < 0) {
    r = -r;
    if (r + r < m.ns_) return Duration(ns_ + r);
    if (int64_t d1 = ns_ - m.ns_ + r; d1 < ns_) return Duration(d1);
    return Duration(INT64_MIN);
  }
  if (r + r < m.ns_) return Duration(ns_ - r);
  if (int64_t d1 = ns_ + m.ns_ - r; d1 > ns_) return Duration(d1);
  return Duration(INT64_MAX);
}

Duration Duration::Abs() const {
  if (ns_ >= 0) return *this;
  if (ns_ == INT64_MIN) return Duration(INT64_MAX);
  return Duration(-ns_);
}

Time Time::FromClocks(int64_t wall, int64_t mono) {
  Time t;
  t.wall_ = wall;
  t.mono_ = mono;
  t.hasMono_ = true;
  return t;
}

Time Time::FromUnixNano(int64_t ns) {
  Time t;
  t.wall_ = ns;
  return t;
}

int64_t Time::Unix() const {
  int64_t s = wall_ / 1000000000;
  return wall_ % 1000000000 < 0 ? s - 1 : s;
}

Duration Time::Sub(Time u) const {
  if (hasMono_ && u.hasMono_) return Duration(mono_ - u.mono_);
  return Duration(wall_ - u.wall_);
}

Time Time::Add(Duration d) const {
  Time t = *this;
  t.wall_ += d.Nanoseconds();
  if (hasMono_) t.mono_ += d.Nanoseconds();
  return t;
}

Time Time::StripMono() const { return FromUnixNano(wall_); }

std::string Time::String() const {
  time_t sec = time_t(Unix());
  int64_t nsec = wall_ - int64_t(sec) * 1000000000;
  struct tm tm;
  localtime_r(&sec, &tm);
  char frac[16] = "";
  if (nsec != 0) {
    snprintf(frac, sizeof(frac), ".%09lld", static_cast<long long>(nsec));
    for (size_t n = strlen(frac); n > 1 && frac[n - 1] == '0'; n--) frac[n - 1] = 0;
  }
  long off = tm.tm_gmtoff;
  char sign = off < 0 ? '-' : '+';
  if (off < 0) off = -off;
  char buf[128];
  snprintf(buf, sizeof(buf), "%04d-%02d-%02d %02d:%02d:%02d%s %c%02ld%02ld %s", tm.tm_year + 1900, tm.tm_mon + 1,
           tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac, sign, off / 3600, (off / 60) % 60, tm.tm_zone);
  std::string out = buf;
  if (hasMono_) {
    int64_t m = mono_ - gort::internal::runtimeNanotimeStart();
    char mb[48];
    snprintf(mb, sizeof(mb), " m=%c%lld.%09lld", m < 0 ? '-' : '+', static_cast<long long>(std::llabs(m) / 1000000000),
             static_cast<long long>(std::llabs(m) % 1000000000));
    out += mb;
  }
  return out;
}

Time Now() { return Time::FromClocks(gort::internal::walltime(), gort::internal::nanotime()); }

Time Unix(int64_t sec, int64_t nsec) { return Time::FromUnixNano(sec * 1000000000 + nsec); }

Duration Since(Time t) { return Now().Sub(t); }

Duration Until(Time t) { return t.Sub(Now()); }

}  // namespace gort::time
