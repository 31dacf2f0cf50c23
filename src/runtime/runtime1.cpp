// runtime1.cpp: environment variables and GODEBUG (mirrors runtime/runtime1.go).
//
// GODEBUG: every knob is one row of kDebugVars (name, variable, when the
// runtime reads it, what it does). GODEBUG itself is parsed once, at
// start-up, as in Go 1.19; a knob the runtime reads each time it acts
// (rather than once, into its own state, during start-up) is marked live,
// which matters to code that sets the variable in tests. The value is a
// comma-separated list of name=value fields; fields without '=', unknown
// names and values that are not decimal int32s (Go's atoi32: an optional
// '-', digits, nothing else, no overflow) are ignored silently, so a typo
// never changes behaviour; the last valid setting of a name wins.
//
// GOMAXPROCS: used when it is an atoi32 greater than 0, else NumCPU (so
// "0", "-1", "abc", " 4", "+4" and "2147483648" all mean NumCPU).
//
// GOTRACEBACK: kept as Go keeps it, one word (tracebackCache): bit 0 crash,
// bit 1 all goroutines, the level above. "none" 0, "single" or unset 1,
// "all" 1+all, "system" 2+all, "crash" 2+all+crash; a number N (Go's atoi,
// fitting a uint32) is level N with all goroutines; anything else, including
// a negative number, is level 0 with all (no traceback at all). The
// environment's setting is a floor (tracebackEnv, OR-ed in) that
// debug.SetTraceback cannot lower.
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <string>

#include "gort/debug.hpp"
#include "runtime/runtime1.hpp"
#include "runtime/traceback.hpp"

namespace gort::internal {

DebugVars debug;

namespace {

enum class Read { atStart, live };

struct DebugVar {
  const char* name;
  int32_t* value;
  Read read;
  const char* doc;
};

const DebugVar kDebugVars[] = {
    {"asyncpreemptoff", &debug.asyncpreemptoff, Read::live, "1 disables signal-based preemption"},
    {"clobberfree", &debug.clobberfree, Read::live, "1 fills the memory of every object the collector frees with 0xdeadbeef"},
    {"gccheckmark", &debug.gccheckmark, Read::live,
     "1 re-marks the heap with the world stopped after each cycle and dies on an object the cycle missed"},
    {"gctrace", &debug.gctrace, Read::live, "1 prints one line per collection"},
    {"inittrace", &debug.inittrace, Read::atStart, "1 prints the time each package init takes"},
    {"madvdontneed", &debug.madvdontneed, Read::live,
     "0 returns idle stack memory with MADV_FREE (reclaimed under memory pressure) instead of MADV_DONTNEED"},
    {"panicnil", &debug.panicnil, Read::live, "1 lets panic(nil) be a nil panic value"},
    {"scheddetail", &debug.scheddetail, Read::live, "with schedtrace, print every P, M and G"},
    {"schedtrace", &debug.schedtrace, Read::live, "N prints the scheduler's state every N ms"},
    {"tracebackancestors", &debug.tracebackancestors, Read::live, "N adds the creation stacks of N ancestors"},
    {"schedrandom", &debug.schedrandom, Read::live, "gort: 1 randomises run-queue choices (on under sanitizers)"},
    {"migrateonpark", &debug.migrateonpark, Read::live, "gort: 1 hands woken goroutines to other Ms where it can"},
    {"strayhandoff", &debug.strayhandoff, Read::atStart,
     "gort: 0 stops sysmon handing off the P of an M blocked outside syscall::Blocking"},
};

// Go's atoi64: an optional '-', decimal digits, nothing else, in range.
bool atoi64(const char* s, int64_t* out) {
  if (!s || !*s) return false;
  bool neg = *s == '-';
  if (neg) s++;
  uint64_t un = 0;
  for (; *s; s++) {
    if (*s < '0' || *s > '9') return false;
    if (un > UINT64_MAX / 10) return false;
    uint64_t next = un * 10 + uint64_t(*s - '0');
    if (next < un) return false;
    un = next;
  }
  if (un > uint64_t(INT64_MAX) + (neg ? 1 : 0)) return false;
  *out = neg ? int64_t(0 - un) : int64_t(un);
  return true;
}

bool atoi32(const char* s, int32_t* out) {
  int64_t n;
  if (!atoi64(s, &n) || n != int64_t(int32_t(n))) return false;
  *out = int32_t(n);
  return true;
}

constexpr uint32_t kTracebackCrash = 1 << 0;
constexpr uint32_t kTracebackAll = 1 << 1;
constexpr uint32_t kTracebackShift = 2;

// Level 2 until GOTRACEBACK is read, so a crash during start-up shows all.
std::atomic<uint32_t> tracebackCache{2 << kTracebackShift};
uint32_t tracebackEnv = 0;  // written once, in parsedebugvars

void setTraceback(const char* level) {
  std::string s = level ? level : "";
  uint32_t t;
  if (s == "none") {
    t = 0;
  } else if (s == "single" || s.empty()) {
    t = 1 << kTracebackShift;
  } else if (s == "all") {
    t = 1 << kTracebackShift | kTracebackAll;
  } else if (s == "system") {
    t = 2 << kTracebackShift | kTracebackAll;
  } else if (s == "crash") {
    t = 2 << kTracebackShift | kTracebackAll | kTracebackCrash;
  } else {
    t = kTracebackAll;
    int64_t n;
    if (atoi64(s.c_str(), &n) && n == int64_t(uint32_t(n))) t |= uint32_t(n) << kTracebackShift;
  }
  tracebackCache.store(t | tracebackEnv, std::memory_order_relaxed);
}

}  // namespace

void parsedebugvars() {
#if defined(GORT_RANDOMIZE_SCHED)
  debug.schedrandom = 1;
  debug.migrateonpark = 1;
#endif
  const char* env = getenv("GODEBUG");
  std::string all = env ? env : "";
  for (size_t pos = 0; env && pos <= all.size();) {
    size_t comma = all.find(',', pos);
    if (comma == std::string::npos) comma = all.size();
    std::string field = all.substr(pos, comma - pos);
    pos = comma + 1;
    size_t eq = field.find('=');
    if (eq == std::string::npos) continue;
    std::string key = field.substr(0, eq), value = field.substr(eq + 1);
    for (const DebugVar& v : kDebugVars) {
      int32_t n;
      if (key == v.name && atoi32(value.c_str(), &n)) *v.value = n;
    }
  }
  tracebackEnv = 0;  // the environment's floor is what this parse finds
  setTraceback(getenv("GOTRACEBACK"));
  tracebackEnv = tracebackCache.load(std::memory_order_relaxed);
}

int32_t gogetenvGOMAXPROCS() {
  int32_t n = 0;
  if (atoi32(getenv("GOMAXPROCS"), &n) && n > 0) return n;
  return 0;
}

void raiseTracebackToSystem() {
  uint32_t t = tracebackCache.load(std::memory_order_relaxed);
  if ((t >> kTracebackShift) >= 2) return;
  tracebackCache.store((t & kTracebackCrash) | 2u << kTracebackShift | kTracebackAll, std::memory_order_relaxed);
}

TracebackLevel gotraceback() {
  uint32_t t = tracebackCache.load(std::memory_order_relaxed);
  return {int32_t(t >> kTracebackShift), (t & kTracebackAll) != 0, (t & kTracebackCrash) != 0};
}

void setTracebackLevel(const char* level) { setTraceback(level); }

const char* waitReasonString(waitReason r) {
  static const char* const kStrings[] = {
      "",
      "chan receive (nil chan)",
      "chan send (nil chan)",
      "select",
      "select (no cases)",
      "chan receive",
      "chan send",
      "semacquire",
      "sleep",
      "sync.Cond.Wait",
      "IO wait",
      "preempted",
      "locked thread",
  };
  static_assert(std::size(kStrings) == size_t(waitReason::count_));
  auto i = size_t(r);
  return i < std::size(kStrings) ? kStrings[i] : "unknown wait reason";
}

}  // namespace gort::internal

namespace gort::internal {

namespace {
int argcSaved = 0;
char** argvSaved = nullptr;
}  // namespace

void setArgs(int argc, char** argv) {
  argcSaved = argc;
  argvSaved = argv;
}

}  // namespace gort::internal

namespace gort::debug {

void SetTraceback(const std::string& level) { internal::setTracebackLevel(level.c_str()); }

}  // namespace gort::debug
