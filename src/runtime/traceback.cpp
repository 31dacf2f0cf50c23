// traceback.cpp: goroutine headers and symbolised stack traces (mirrors
// runtime/traceback.go; symbolisation through GCC's libbacktrace, which reads
// the program's own DWARF, inlined calls included).
//
// The running goroutine is unwound from where we are. A suspended goroutine
// is unwound by borrowing its stack: a frame whose unwind info points back at
// the goroutine's saved switch frame is pushed below its saved sp
// (gort_trace_trampoline), we switch to it, it records its own backtrace
// (which walks on into the goroutine's frames) and switches back. Nothing
// the goroutine owns is touched: everything happens below its stack pointer.
// The goroutine must stay suspended meanwhile (the world is stopped, or the
// caller otherwise knows nobody can ready it).
//
// A panic's report prints the stack recorded when it was raised
// (tracebackPCs), because by the time the report runs C++ has unwound it.
//
// Frames of the runtime itself (gort::internal, the asm, the plumbing of
// gort::go / gort::func / defer, the checked helpers that raise run-time
// panics) are hidden unless GOTRACEBACK=system, as Go hides runtime frames.
//
// libbacktrace runs with the goroutine pinned to its M (m.locks, Go's
// acquirem): it reads the program's DWARF from inside dl_iterate_phdr's
// callback, under glibc's loader lock, a recursive mutex owned by the
// thread; a goroutine preempted there and another one run on the same thread
// would take that lock again "recursively", and the first, resumed on
// another thread, would release a lock it does not own.
//
// GODEBUG=tracebackancestors=N: each go statement records the creating
// goroutine's pcs and goid (and its own recorded ancestors, up to N), and a
// goroutine's trace ends with "[originating from goroutine N]:" blocks, as
// Go's printAncestorTraceback does.
#include "runtime/traceback.hpp"

#include <backtrace.h>
#include <cxxabi.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "gort/runtime_stack.hpp"
#include "runtime/panic.hpp"
#include "runtime/sanitizer.hpp"
#include "runtime/stubs.hpp"


namespace gort::internal {

// The recorded creators of a goroutine, newest first.
struct AncestorInfo {
  struct Ancestor {
    int64_t goid;
    uintptr_t gopc;
    std::vector<uintptr_t> pcs;
  };
  std::vector<Ancestor> list;
};

namespace {

constexpr int kMaxFrames = 100;

// The goroutine stays on its M, unpreempted, for the scope (see above).
class PinnedToM {
 public:
  PinnedToM() : gp_(getg()) {
    if (gp_) gp_->mp->locks++;
  }
  ~PinnedToM() {
    if (gp_) gp_->mp->locks--;
  }
  PinnedToM(const PinnedToM&) = delete;
  PinnedToM& operator=(const PinnedToM&) = delete;

 private:
  g* gp_;
};

// The first lookup reads the DWARF of the whole program. It happens here,
// once, under the static's guard: threads that arrive meanwhile wait for it
// instead of each reading everything again (libbacktrace would let them).
backtrace_state* btState() {
  static backtrace_state* state = [] {
    backtrace_state* s = backtrace_create_state(nullptr, 1, nullptr, nullptr);
    backtrace_pcinfo(
        s, reinterpret_cast<uintptr_t>(&btState), [](void*, uintptr_t, const char*, int, const char*) { return 0; },
        nullptr, nullptr);
    return s;
  }();
  return state;
}

std::string demangle(const char* name) {
  if (!name) return "?";
  int status = 0;
  char* d = abi::__cxa_demangle(name, nullptr, nullptr, &status);
  if (status != 0 || !d) return name;
  std::string r = d;
  std::free(d);
  // GCC's specialised copies ("f(int) [clone .constprop.0]") are f.
  if (size_t clone = r.find(" [clone "); clone != std::string::npos) r.resize(clone);
  return r;
}

// The qualified name of a demangled function: no return type, no
// parameters ("void gort::func<F>(F&&)" -> "gort::func<F>").
std::string qualifiedName(const std::string& fn) {
  int depth = 0;
  size_t start = 0, end = fn.size();
  for (size_t i = 0; i < fn.size(); i++) {
    char c = fn[i];
    if (c == '<') depth++;
    if (c == '>') depth--;
    if (depth == 0 && c == ' ') start = i + 1;
    if (depth == 0 && c == '(' && i > 0) {
      end = i;
      break;
    }
  }
  return fn.substr(start, end - start);
}

// gort's own sources: the root of the tree this file was compiled in.
const std::string& sourceRoot() {
  static const std::string root = [] {
    std::string f = __FILE__;
    size_t at = f.rfind("src/runtime/traceback.cpp");
    return at == std::string::npos ? std::string("\x01") : f.substr(0, at);
  }();
  return root;
}

bool isRuntimeFile(const std::string& file) {
  const std::string& root = sourceRoot();
  return file.rfind(root + "src/", 0) == 0 || file.rfind(root + "include/gort/", 0) == 0;
}

bool isRuntimeFrame(const std::string& fn) {
  static const char* const kPrefixes[] = {
      "gort::internal::", "gort_", "gort::go<", "gort::Run<", "gort::func<", "gort::Defer::", "gort::panic",
      "gort::recover", "gort::at<", "gort::deref<", "gort::div<", "gort::mod<", "gort::as<",
      "gort::runtime::Callers", "gort::runtime::Caller", "gort::runtime::Stack", "std::__invoke", "std::invoke",
      "__cxa_", "__cxxabiv1::", "_Unwind_", "__gxx_personality", "std::terminate", "std::rethrow_exception",
      "__gnu_cxx::__verbose_terminate_handler", "std::__terminate", "__sanitizer", "__asan", "__tsan"};
  std::string q = qualifiedName(fn);
  for (const char* p : kPrefixes) {
    if (q.rfind(p, 0) == 0) return true;
  }
  // Closures inside our templates: "gort::go<...>(...)::{lambda()#1}::operator()".
  return fn.rfind("gort::go<", 0) == 0 || fn.rfind("void gort::go<", 0) == 0 ||
         fn.find(" gort::Run<") != std::string::npos;
}

struct Collect {
  std::vector<SymFrame>* frames;
  uintptr_t pc;  // the pc to report (0: as libbacktrace gives it)
};

int onFrame(void* data, uintptr_t pc, const char* filename, int lineno, const char* function) {
  auto* c = static_cast<Collect*>(data);
  if (c->frames->size() >= 4 * kMaxFrames) return 1;
  SymFrame f{c->pc ? c->pc : pc, demangle(function), filename ? filename : "?", lineno, 0};
  if (!function) {
    const char* sym = nullptr;
    backtrace_syminfo(
        btState(), pc,
        [](void* d, uintptr_t, const char* symname, uintptr_t, uintptr_t) {
          *static_cast<const char**>(d) = symname;
        },
        nullptr, &sym);
    f.function = demangle(sym);
  }
  backtrace_syminfo(
      btState(), pc,
      [](void* d, uintptr_t, const char*, uintptr_t symval, uintptr_t) { *static_cast<uintptr_t*>(d) = symval; },
      nullptr, &f.entry);
  c->frames->push_back(std::move(f));
  return 0;
}

std::string hexOffset(uintptr_t off) {
  char buf[32];
  snprintf(buf, sizeof buf, " +0x%lx\n", static_cast<unsigned long>(off));
  return buf;
}

// The C++ library's headers (std::invoke, std::function plumbing) are
// plumbing too.
bool hidden(const SymFrame& f) {
  return isRuntimeFrame(f.function) || isRuntimeFile(f.file) || f.file.find("/include/c++/") != std::string::npos;
}

// DWARF names functions with internal linkage without their namespaces;
// the symbol table has the full name of the machine function (the last
// frame of each pc: the ones before it are calls inlined into it).
void qualifyNames(std::vector<SymFrame>* frames, size_t from) {
  for (size_t i = from; i < frames->size(); i++) {
    SymFrame& f = (*frames)[i];
    bool physical = i + 1 == frames->size() || (*frames)[i + 1].pc != f.pc;
    if (!physical || f.function.find("::") != std::string::npos || f.function.find('(') != std::string::npos) {
      continue;
    }
    const char* sym = nullptr;
    backtrace_syminfo(
        btState(), f.pc - 1,
        [](void* d, uintptr_t, const char* symname, uintptr_t, uintptr_t) {
          *static_cast<const char**>(d) = symname;
        },
        nullptr, &sym);
    if (!sym) continue;
    std::string full = demangle(sym);
    std::string q = qualifiedName(full);
    if (q == f.function || (q.size() >= f.function.size() + 2 && q.compare(q.size() - f.function.size() - 2, 2, "::") == 0 &&
                            q.compare(q.size() - f.function.size(), f.function.size(), f.function) == 0)) {
      f.function = full;
    }
  }
}

void formatFrames(const std::vector<SymFrame>& frames, std::string* out) {
  bool system = gotraceback().level >= 2;  // GOTRACEBACK=system (and crash)
  int printed = 0;
  for (const SymFrame& f : frames) {
    if (!system && hidden(f)) continue;
    // Unnamed code (the kernel's signal return trampoline, stripped
    // libraries) says nothing a reader can use.
    if (f.function == "?") continue;
    if (printed++ == kMaxFrames) {
      *out += "...additional frames elided...\n";
      break;
    }
    *out += f.function;
    if (f.function.find('(') == std::string::npos) *out += "(...)";
    *out += "\n\t" + f.file + ":" + std::to_string(f.line) + hexOffset(f.entry ? f.pc - f.entry : f.pc);
  }
}

// Frames of return addresses (each looked up at pc-1, the call).
void symbolizeReturnAddresses(const uintptr_t* pcs, int n, std::vector<SymFrame>* frames) {
  size_t from = frames->size();
  for (int i = 0; i < n; i++) {
    Collect c{frames, pcs[i]};
    backtrace_pcinfo(btState(), pcs[i] - 1, onFrame, nullptr, &c);
  }
  qualifyNames(frames, from);
}

void collectCurrent(int skip, std::vector<SymFrame>* frames) {
  size_t from = frames->size();
  Collect c{frames, 0};
  backtrace_full(btState(), skip + 1, onFrame, nullptr, &c);
  // backtrace_full reports lookup pcs (pc-1); qualifyNames wants return addresses.
  for (size_t i = from; i < frames->size(); i++) (*frames)[i].pc++;
  qualifyNames(frames, from);
  for (size_t i = from; i < frames->size(); i++) (*frames)[i].pc--;
}

const char* statusString(uint32_t s) {
  switch (s) {
    case _Gidle: return "idle";
    case _Grunnable: return "runnable";
    case _Grunning: return "running";
    case _Gsyscall: return "syscall";
    case _Gwaiting: return "waiting";
    case _Gdead: return "dead";
  }
  return "???";
}

// A request to trace a suspended goroutine on its own stack.
struct TraceRequest {
  gobuf back;     // the dumper's context
  gobuf scratch;  // where the trampoline's context is dropped
  std::vector<SymFrame>* frames;
  g* gp;
  void* fakeStack;
};

// "created by f in goroutine N\n\tfile:line +0xoff" for a go statement at gopc.
void printCreatedBy(uintptr_t gopc, int64_t parentGoid, std::string* out) {
  if (!gopc) return;
  std::vector<SymFrame> frames;
  Collect c{&frames, 0};
  backtrace_pcinfo(btState(), gopc - 1, onFrame, nullptr, &c);
  if (frames.empty()) return;
  const SymFrame& f = frames.back();  // the outermost of any inlined frames
  if (gotraceback().level < 3 && hidden(f)) return;  // made by the runtime (Go hides these)
  *out += "created by ";
  std::string fn = f.function;
  if (auto paren = fn.find('('); paren != std::string::npos && fn.find("::{lambda") == std::string::npos) {
    fn.resize(paren);
  }
  *out += fn;
  if (parentGoid) *out += " in goroutine " + std::to_string(parentGoid);
  *out += "\n\t" + f.file + ":" + std::to_string(f.line) + hexOffset(f.entry ? gopc - f.entry : gopc);
}

void printAncestors(g* gp, std::string* out) {
  if (!gp->ancestors) return;
  for (const AncestorInfo::Ancestor& a : gp->ancestors->list) {
    *out += "[originating from goroutine " + std::to_string(a.goid) + "]:\n";
    std::vector<SymFrame> frames;
    symbolizeReturnAddresses(a.pcs.data(), int(a.pcs.size()), &frames);
    formatFrames(frames, out);
    if (a.goid != 1) printCreatedBy(a.gopc, 0, out);
  }
}

void createdBy(g* gp, std::string* out) {
  printCreatedBy(gp->gopc, gp->parentGoid, out);
  printAncestors(gp, out);
}

}  // namespace

extern "C" [[noreturn]] void gort_traceback_on_g(TraceRequest* req) {
  san::finishSwitch(nullptr);
  // Skip this function and the trampoline: the goroutine's frames follow.
  collectCurrent(0, req->frames);
  if (!req->frames->empty()) req->frames->erase(req->frames->begin());
  san::startSwitch(nullptr, nullptr, 0);
  gort_swapcontext(&req->scratch, &req->back);
  __builtin_unreachable();
}

uintptr_t functionSize(uintptr_t pc) {
  PinnedToM pin;
  uintptr_t size = 0;
  backtrace_syminfo(
      btState(), pc,
      [](void* d, uintptr_t, const char*, uintptr_t, uintptr_t symsize) { *static_cast<uintptr_t*>(d) = symsize; },
      nullptr, &size);
  return size;
}

int inlinedDepth(uintptr_t pc) {
  PinnedToM pin;
  int named = 0;
  backtrace_pcinfo(
      btState(), pc,
      [](void* d, uintptr_t, const char*, int, const char* function) {
        if (function) ++*static_cast<int*>(d);
        return 0;
      },
      nullptr, &named);
  return named > 1 ? named - 1 : 0;
}

void symbolize(uintptr_t pc, std::vector<SymFrame>* out) {
  PinnedToM pin;
  Collect c{out, 0};
  backtrace_pcinfo(btState(), pc, onFrame, nullptr, &c);
}

void goroutineheader(g* gp, std::string* out) {
  uint32_t status = gp->atomicstatus.load(std::memory_order_relaxed);
  *out += "goroutine ";
  *out += std::to_string(gp->goid);
  *out += " [";
  if (status == _Gwaiting && gp->waitreason != waitReason::zero) {
    *out += waitReasonString(gp->waitreason);
  } else {
    *out += statusString(status);
  }
  if ((status == _Gwaiting || status == _Gsyscall) && gp->waitsince != 0) {
    int64_t minutes = cputicksToNanos(cputicks() - gp->waitsince) / 60000000000LL;
    if (minutes >= 1) {
      *out += ", ";
      *out += std::to_string(minutes);
      *out += " minutes";
    }
  }
  if (gp->lockedm) *out += ", locked to thread";
  *out += "]:\n";
}

void tracebackCurrent(int skip, std::string* out) {
  PinnedToM pin;
  std::vector<SymFrame> frames;
  collectCurrent(skip + 1, &frames);
  formatFrames(frames, out);
  if (g* gp = getg(); gp && gp->mp && gp->mp->curg == gp) createdBy(gp, out);
}

void tracebackPCs(const uintptr_t* pcs, int n, std::string* out) {
  PinnedToM pin;
  std::vector<SymFrame> frames;
  symbolizeReturnAddresses(pcs, n, &frames);
  formatFrames(frames, out);
  if (g* gp = getg(); gp && gp->mp && gp->mp->curg == gp) createdBy(gp, out);
}

void tracebackParked(g* gp, std::string* out) {
  PinnedToM pin;
  std::vector<SymFrame> frames;
  if (gp->slot && gp->sched.sp) {
    TraceRequest req{};
    req.frames = &frames;
    req.gp = gp;
    uintptr_t sp = traceFrame(gp->sched.sp, &req);
    gobuf to{sp};
    void* fake = nullptr;
    san::startSwitch(&fake, reinterpret_cast<void*>(gp->stk.lo), gp->stk.hi - gp->stk.lo);
    gort_swapcontext(&req.back, &to);
    san::finishSwitch(fake);
  }
  std::string body;
  formatFrames(frames, &body);
  *out += body;
  createdBy(gp, out);
}

void tracebackothers(g* me, std::string* out) {
  // allgs is newest first; Go prints the goroutines in creation order
  // (goroutine 1 first in a deadlock dump).
  std::vector<g*> gs;
  for (g* gp = allgsHead(); gp; gp = gp->alllink) gs.push_back(gp);
  for (auto it = gs.rbegin(); it != gs.rend(); ++it) {
    g* gp = *it;
    uint32_t st = gp->atomicstatus.load(std::memory_order_relaxed);
    if (gp == me || gp->goid == 0 || st == _Gdead || st == _Gidle) continue;
    *out += "\n";
    goroutineheader(gp, out);
    if (st == _Gwaiting || st == _Grunnable) {
      tracebackParked(gp, out);
    } else {
      *out += "\tgoroutine running on other thread; stack unavailable\n";
      createdBy(gp, out);
    }
  }
}

void saveAncestors(g* newg, g* creator) {
  int32_t max = debug.tracebackancestors;
  if (max <= 0 || !creator || creator->goid == 0) {
    delete newg->ancestors;
    newg->ancestors = nullptr;
    return;
  }
  auto* info = newg->ancestors ? newg->ancestors : new AncestorInfo;
  info->list.clear();
  AncestorInfo::Ancestor self{creator->goid, creator->gopc, std::vector<uintptr_t>(kMaxFrames)};
  self.pcs.resize(size_t(callersPCs(1, self.pcs.data(), kMaxFrames)));
  info->list.push_back(std::move(self));
  if (creator->ancestors) {
    for (const auto& a : creator->ancestors->list) {
      if (int32_t(info->list.size()) >= max) break;
      info->list.push_back(a);
    }
  }
  newg->ancestors = info;
}

}  // namespace gort::internal

namespace gort::runtime {

int Stack(std::span<char> buf, bool all) {
  using namespace gort::internal;
  std::string out;
  g* gp = getg();
  bool onG = gp && gp->mp && gp->mp->curg == gp;
  if (!onG) return 0;  // the dump is of goroutines, made from one
  if (all) stopTheWorld("stack trace");
  goroutineheader(gp, &out);
  tracebackCurrent(0, &out);
  if (all) {
    tracebackothers(gp, &out);
    startTheWorld();
  }
  size_t n = std::min(out.size(), buf.size());
  std::memcpy(buf.data(), out.data(), n);
  return int(n);
}

}  // namespace gort::runtime
