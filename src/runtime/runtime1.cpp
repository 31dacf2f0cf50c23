// runtime1.cpp: environment variables and GODEBUG (mirrors runtime/runtime1.go).
//
// Every GODEBUG knob is one row of kDebugVars: name, variable, and whether it
// is read only at start-up. Parsing follows Go 1.19: the value is a
// comma-separated list of name=value pairs; unknown names and malformed
// numbers are ignored silently (a typo must not change behaviour); the last
// setting of a name wins.
#include <cstdlib>
#include <cstring>
#include <string>

#include "runtime/stubs.hpp"
#include "runtime/traceback.hpp"

namespace gort::internal {

DebugVars debug;

namespace {

struct DebugVar {
  const char* name;
  int32_t* value;
  const char* doc;
};

const DebugVar kDebugVars[] = {
    {"asyncpreemptoff", &debug.asyncpreemptoff, "1 disables signal-based preemption"},
    {"gctrace", &debug.gctrace, "1 prints one line per GC cycle"},
    {"inittrace", &debug.inittrace, "1 prints the time each package init takes"},
    {"madvdontneed", &debug.madvdontneed, "1 returns memory with MADV_DONTNEED"},
    {"panicnil", &debug.panicnil, "1 lets panic(nil) be a nil panic value"},
    {"scheddetail", &debug.scheddetail, "with schedtrace, print every P, M and G"},
    {"schedtrace", &debug.schedtrace, "N prints the scheduler's state every N ms"},
    {"tracebackancestors", &debug.tracebackancestors, "N adds the creation stacks of N ancestors"},
    {"schedrandom", &debug.schedrandom, "gort: 1 randomises run-queue choices (on under sanitizers)"},
    {"migrateonpark", &debug.migrateonpark, "gort: 1 hands woken goroutines to other Ms where it can"},
};

// Go's atoi: optional sign, decimal digits, no trailing garbage, in range.
bool atoi32(const char* s, int32_t* out) {
  if (!s || !*s) return false;
  bool neg = false;
  if (*s == '-' || *s == '+') neg = *s++ == '-';
  if (!*s) return false;
  int64_t n = 0;
  for (; *s; s++) {
    if (*s < '0' || *s > '9') return false;
    n = n * 10 + (*s - '0');
    if (n > (int64_t(1) << 31)) return false;
  }
  if (neg) n = -n;
  if (n < INT32_MIN || n > INT32_MAX) return false;
  *out = int32_t(n);
  return true;
}

TracebackLevel tracebackSetting;

void setTraceback(const char* level) {
  TracebackLevel t;
  std::string s = level ? level : "";
  if (s == "none") {
    t = {0, false, false};
  } else if (s == "single" || s.empty()) {
    t = {1, false, false};
  } else if (s == "all") {
    t = {1, true, false};
  } else if (s == "system") {
    t = {2, true, false};
  } else if (s == "crash") {
    t = {2, true, true};
  } else {
    int32_t n = 0;
    t = {0, true, false};
    if (atoi32(s.c_str(), &n) && n >= 0) t.level = n;
  }
  tracebackSetting = t;
}

}  // namespace

void parsedebugvars() {
#if defined(GORT_RANDOMIZE_SCHED)
  debug.schedrandom = 1;
  debug.migrateonpark = 1;
#endif
  setTraceback(getenv("GOTRACEBACK"));
  const char* env = getenv("GODEBUG");
  if (!env) return;
  std::string all = env;
  size_t pos = 0;
  while (pos <= all.size()) {
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
}

int32_t gogetenvGOMAXPROCS() {
  int32_t n = 0;
  if (atoi32(getenv("GOMAXPROCS"), &n) && n > 0) return n;
  return 0;
}

TracebackLevel gotraceback() { return tracebackSetting; }

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
