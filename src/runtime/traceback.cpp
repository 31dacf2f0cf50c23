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
// Every trace is a list of return addresses first (callersPCs, or the
// stack recorded at a panic, because by the time the report runs C++ has
// unwound it), symbolised and printed one pc at a time afterwards. A
// suspended goroutine's stack only lends the unwinder room: its pcs are
// collected there and symbolised back on the dumper's stack.
//
// Nothing here allocates except through TraceOut::scratch, so a fatal
// report (whose scratch is the crash arena, panic.cpp) calls no malloc:
//   - libbacktrace, as GCC builds it, allocates with mmap (its free list
//     is only tried, never waited for) and reads the program's debug
//     information with open/mmap; it finds shared objects through
//     dl_iterate_phdr, whose loader lock is recursive and held by others
//     only for a dlopen's duration.
//   - the unwinder (_Unwind_Backtrace) finds unwind tables with glibc's
//     lock-free _dl_find_object; no frame tables are registered, so its
//     own object mutex and malloc are never reached.
//   - names are demangled by libsupc++'s __gcclibcxx_demangle_callback,
//     the malloc-free core of __cxa_demangle: its output comes through a
//     callback and its work arrays live on the stack, in proportion to the
//     name (~160 bytes a character, measured), so a name too long for the
//     stack left prints mangled. A fatal report runs on a crash stack
//     large enough for any reasonable name.
//   - numbers are formatted by Printer, never snprintf or std::to_string.
//
// libbacktrace is called under symtabLock, one lookup at a time, for three
// reasons. Holding a runtime lock pins the goroutine to its M (m.locks):
// libbacktrace reads the program's DWARF inside dl_iterate_phdr's
// callback, under glibc's loader lock, a recursive mutex owned by the
// thread, and a goroutine preempted there, with another one run on the same
// thread, would leave that lock to a thread it no longer runs on (the next
// exception anywhere then waits for ever). The first lookup reads the
// DWARF of the whole program, which concurrent callers would each do again.
// And libbacktrace publishes what it reads with atomics of its own, which
// the race detector cannot see. A fatal report takes no lock (another
// goroutine may hold it, or the fault is in libbacktrace itself): it looks
// up without it, which libbacktrace, built thread-safe, allows.
//
// Frames of the runtime itself (gort::internal, the asm, the plumbing of
// gort::go / gort::func / defer, the checked helpers that raise run-time
// panics) are hidden unless GOTRACEBACK=system, as Go hides runtime frames.
//
// GODEBUG=tracebackancestors=N: each go statement records the creating
// goroutine's pcs and goid (and its own recorded ancestors, up to N), and a
// goroutine's trace ends with "[originating from goroutine N]:" blocks, as
// Go's printAncestorTraceback does.
#include "runtime/traceback.hpp"

#include <backtrace.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <vector>

#include "gort/runtime_stack.hpp"
#include "runtime/os_linux.hpp"
#include "runtime/panic.hpp"
#include "runtime/proc.hpp"
#include "runtime/runtime1.hpp"
#include "runtime/sanitizer.hpp"
#include "runtime/stubs.hpp"

// libsupc++'s demangler with its output through a callback (cp-demangle.o;
// returns 0 on success).
extern "C" int __gcclibcxx_demangle_callback(const char* mangled, void (*out)(const char*, size_t, void*),
                                             void* opaque);

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

// Scratch memory of one pc's frames: a local buffer, then the trace's
// scratch resource; all of it given back when the pc is printed.
constexpr size_t kPCScratch = 2048;

// A missing or damaged debug section: the frames print as unknown.
void ignoreError(void*, const char*, int) {}

backtrace_state* btState() {
  static backtrace_state* state = backtrace_create_state(nullptr, 1, ignoreError, nullptr);
  return state;
}

mutex symtabLock{LockRank::symtab};

// Holds symtabLock for a scope of libbacktrace calls, unless a fatal report
// is being written (see above).
class SymtabScope {
 public:
  SymtabScope() : locked_(!reportStarted()) {
    if (locked_) lockEntered(&symtabLock);
  }
  ~SymtabScope() {
    if (locked_) unlockEntered(&symtabLock);
  }
  SymtabScope(const SymtabScope&) = delete;
  SymtabScope& operator=(const SymtabScope&) = delete;

 private:
  static bool reportStarted() {
    uintptr_t lo, hi;
    return crashStackBounds(&lo, &hi);
  }
  bool locked_;
};

struct Symbol {
  const char* name = nullptr;
  uintptr_t entry = 0;
  uintptr_t size = 0;
};

// The symbol table's entry for the function holding lookup pc.
Symbol symbolAt(uintptr_t pc) {
  Symbol s;
  backtrace_syminfo(
      btState(), pc,
      [](void* d, uintptr_t, const char* name, uintptr_t value, uintptr_t size) {
        *static_cast<Symbol*>(d) = {name, value, size};
      },
      ignoreError, &s);
  return s;
}

// Bytes of stack left below the caller where the stack's bounds are known
// (a goroutine's, an M's g0, the crash stack); elsewhere (a thread of the
// program's own, with its megabytes) plenty.
size_t stackLeft() {
  auto sp = reinterpret_cast<uintptr_t>(__builtin_frame_address(0));
  uintptr_t lo = 0, hi = 0;
  if (crashStackBounds(&lo, &hi) && sp > lo && sp <= hi) return sp - lo;
  if (g* gp = getg()) {
    if (sp > gp->stk.lo && sp <= gp->stk.hi) return sp - gp->stk.lo;
    if (m* mp = gp->mp; mp && sp > mp->g0StackLo && sp <= mp->g0StackHi) return sp - mp->g0StackLo;
  }
  return SIZE_MAX;
}

// What the demangler's work arrays take (cp-demangle sizes them from the
// name: ~160 bytes a character at most on gort's test binaries), plus its
// fixed frames.
constexpr size_t kDemangleStackPerChar = 192;
constexpr size_t kDemangleStackBase = 32 << 10;

// `name` demangled, in mem; as it is (it lives in libbacktrace's tables)
// if it is no mangled C++ name or too long for the stack left. GCC's
// specialised copies ("f(int) [clone .constprop.0]") are f. Two passes
// (measure, then copy) so the result needs one exact allocation.
std::string_view demangle(const char* name, std::pmr::memory_resource* mem) {
  if (!name) return "?";
  if (std::strlen(name) * kDemangleStackPerChar + kDemangleStackBase > stackLeft()) return name;
  size_t n = 0;
  auto count = [](const char*, size_t len, void* d) { *static_cast<size_t*>(d) += len; };
  if (__gcclibcxx_demangle_callback(name, count, &n) != 0 || n == 0) return name;
  char* text = static_cast<char*>(mem->allocate(n, 1));
  struct Cursor {
    char* at;
    char* end;
  } cur{text, text + n};
  auto copy = [](const char* s, size_t len, void* d) {
    auto* c = static_cast<Cursor*>(d);
    len = std::min(len, size_t(c->end - c->at));
    std::memcpy(c->at, s, len);
    c->at += len;
  };
  __gcclibcxx_demangle_callback(name, copy, &cur);
  std::string_view r(text, size_t(cur.at - text));
  if (size_t clone = r.find(" [clone "); clone != std::string_view::npos) r = r.substr(0, clone);
  return r;
}

// Where a demangled function's parameter list begins (npos: none), and in
// *start where its name begins, after any return type. "(anonymous
// namespace)" is part of a name.
size_t parameterList(std::string_view fn, size_t* start) {
  constexpr std::string_view kAnonymous = "(anonymous namespace)";
  int depth = 0;
  *start = 0;
  for (size_t i = 0; i < fn.size(); i++) {
    if (fn.substr(i, kAnonymous.size()) == kAnonymous) {
      i += kAnonymous.size() - 1;
      continue;
    }
    char c = fn[i];
    if (c == '<') depth++;
    if (c == '>') depth--;
    if (depth == 0 && c == ' ') *start = i + 1;
    if (depth == 0 && c == '(' && i > 0) return i;
  }
  return std::string_view::npos;
}

// The qualified name of a demangled function: no return type, no
// parameters ("void gort::func<F>(F&&)" -> "gort::func<F>").
std::string_view qualifiedName(std::string_view fn) {
  size_t start;
  size_t end = parameterList(fn, &start);
  return end == std::string_view::npos ? fn.substr(start) : fn.substr(start, end - start);
}

// gort's own sources: the root of the tree this file was compiled in.
constexpr std::string_view kThisFile = __FILE__;
constexpr size_t kThisFileAt = kThisFile.rfind("src/runtime/traceback.cpp");
constexpr std::string_view kSourceRoot =
    kThisFileAt == std::string_view::npos ? std::string_view("\x01") : kThisFile.substr(0, kThisFileAt);

bool isRuntimeFile(std::string_view file) {
  if (!file.starts_with(kSourceRoot)) return false;
  file.remove_prefix(kSourceRoot.size());
  return file.starts_with("src/") || file.starts_with("include/gort/");
}

bool isRuntimeFrame(std::string_view fn) {
  static constexpr std::string_view kPrefixes[] = {
      "gort::internal::", "gort_", "gort::go<", "gort::Run<", "gort::func<", "gort::Defer::", "gort::panic",
      "gort::recover", "gort::at<", "gort::deref<", "gort::div<", "gort::mod<", "gort::as<",
      "gort::runtime::Callers", "gort::runtime::Caller", "gort::runtime::Stack", "std::__invoke", "std::invoke",
      "__cxa_", "__cxxabiv1::", "_Unwind_", "__gxx_personality", "std::terminate", "std::rethrow_exception",
      "__gnu_cxx::__verbose_terminate_handler", "std::__terminate", "__sanitizer", "__asan", "__tsan"};
  std::string_view q = qualifiedName(fn);
  for (std::string_view p : kPrefixes) {
    if (q.starts_with(p)) return true;
  }
  // Closures inside our templates: "gort::go<...>(...)::{lambda()#1}::operator()".
  return fn.starts_with("gort::go<") || fn.starts_with("void gort::go<") ||
         fn.find(" gort::Run<") != std::string_view::npos;
}

// The C++ library's headers (std::invoke, std::function plumbing) are
// plumbing too.
bool hidden(const SymFrame& f) {
  return isRuntimeFrame(f.function) || isRuntimeFile(f.file) || f.file.find("/include/c++/") != std::string_view::npos;
}

struct Collect {
  std::pmr::vector<SymFrame>* frames;
  uintptr_t pc;  // the return address being symbolised
  Symbol sym;    // the machine function holding it
};

int onFrame(void* data, uintptr_t, const char* filename, int lineno, const char* function) {
  auto* c = static_cast<Collect*>(data);
  std::pmr::memory_resource* mem = c->frames->get_allocator().resource();
  c->frames->push_back({c->pc, demangle(function ? function : c->sym.name, mem), filename ? filename : "?", lineno,
                        c->sym.entry});
  return 0;
}

// DWARF names functions with internal linkage without their namespaces;
// the symbol table has the full name of the machine function, which is
// the last frame of a pc (the ones before it are calls inlined into it).
void qualify(SymFrame* f, const char* symbol, std::pmr::memory_resource* mem) {
  std::string_view bare = f->function;
  if (bare.find("::") != std::string_view::npos || bare.find('(') != std::string_view::npos) return;
  if (!symbol) return;
  std::string_view full = demangle(symbol, mem);
  std::string_view q = qualifiedName(full);
  if (q == bare || (q.size() >= bare.size() + 2 && q.ends_with(bare) && q.substr(q.size() - bare.size() - 2, 2) == "::")) {
    f->function = full;
  }
}

void printFrame(const SymFrame& f, Printer& out) {
  out << f.function;
  if (f.function.find('(') == std::string_view::npos) out << "(...)";
  out << "\n\t" << f.file << ":" << f.line << " +" << Hex{f.entry ? f.pc - f.entry : f.pc} << "\n";
}

// Go's frame lines for return addresses pcs, at most kMaxFrames of them;
// runtime frames hidden below GOTRACEBACK=system.
void printFrames(const uintptr_t* pcs, int n, const TraceOut& out) {
  bool system = gotraceback().level >= 2;  // GOTRACEBACK=system (and crash)
  int printed = 0;
  for (int i = 0; i < n; i++) {
    char local[kPCScratch];
    std::pmr::monotonic_buffer_resource mem(local, sizeof local, out.scratch);
    std::pmr::vector<SymFrame> frames(&mem);
    symbolize(pcs[i], &frames);
    for (const SymFrame& f : frames) {
      if (!system && hidden(f)) continue;
      // Unnamed code (the kernel's signal return trampoline, stripped
      // libraries) says nothing a reader can use.
      if (f.function == "?") continue;
      if (printed++ == kMaxFrames) {
        out.text << "...additional frames elided...\n";
        return;
      }
      printFrame(f, out.text);
    }
  }
}

const char* statusString(uint32_t s) {
  switch (s) {
    case Gidle: return "idle";
    case Grunnable: return "runnable";
    case Grunning: return "running";
    case Gsyscall: return "syscall";
    case Gwaiting: return "waiting";
    case Gdead: return "dead";
  }
  return "???";
}

// A request to trace a suspended goroutine on its own stack.
struct TraceRequest {
  gobuf back;     // the dumper's context
  gobuf scratch;  // where the trampoline's context is dropped
  uintptr_t* pcs;
  int npcs;
  g* gp;
  const void* dumperStack;  // ASan: the dumper's stack, announced on the way back
  size_t dumperStackSize;
};

// "created by f in goroutine N\n\tfile:line +0xoff" for a go statement at gopc.
void printCreatedBy(uintptr_t gopc, int64_t parentGoid, const TraceOut& out) {
  if (!gopc) return;
  char local[kPCScratch];
  std::pmr::monotonic_buffer_resource mem(local, sizeof local, out.scratch);
  std::pmr::vector<SymFrame> frames(&mem);
  symbolize(gopc, &frames);
  if (frames.empty()) return;
  const SymFrame& f = frames.back();  // the outermost of any inlined frames
  if (gotraceback().level < 3 && hidden(f)) return;  // made by the runtime (Go hides these)
  std::string_view fn = f.function;
  size_t start;
  if (fn.find("::{lambda") == std::string_view::npos) fn = fn.substr(0, parameterList(fn, &start));
  out.text << "created by " << fn;
  if (parentGoid) out.text << " in goroutine " << parentGoid;
  out.text << "\n\t" << f.file << ":" << f.line << " +" << Hex{f.entry ? gopc - f.entry : gopc} << "\n";
}

void printAncestors(g* gp, const TraceOut& out) {
  if (!gp->ancestors) return;
  for (const AncestorInfo::Ancestor& a : gp->ancestors->list) {
    out.text << "[originating from goroutine " << a.goid << "]:\n";
    printFrames(a.pcs.data(), int(a.pcs.size()), out);
    if (a.goid != 1) printCreatedBy(a.gopc, 0, out);
  }
}

void createdBy(g* gp, const TraceOut& out) {
  printCreatedBy(gp->gopc, gp->parentGoid, out);
  printAncestors(gp, out);
}

}  // namespace

extern "C" [[noreturn]] void gort_traceback_on_g(TraceRequest* req) {
  san::finishSwitch(nullptr, &req->dumperStack, &req->dumperStackSize);
  // Skip this function: the trampoline and the goroutine's frames follow.
  req->npcs = callersPCs(1, req->pcs, kMaxTracePCs);
  san::startSwitch(nullptr, req->dumperStack, req->dumperStackSize);
  gort_swapcontext(&req->scratch, &req->back);
  __builtin_unreachable();
}

uintptr_t functionSize(uintptr_t pc) {
  SymtabScope symtab;
  return symbolAt(pc).size;
}

int inlinedDepth(uintptr_t pc) {
  SymtabScope symtab;
  int named = 0;
  backtrace_pcinfo(
      btState(), pc,
      [](void* d, uintptr_t, const char*, int, const char* function) {
        if (function) ++*static_cast<int*>(d);
        return 0;
      },
      ignoreError, &named);
  return named > 1 ? named - 1 : 0;
}

void symbolize(uintptr_t pc, std::pmr::vector<SymFrame>* out) {
  SymtabScope symtab;
  size_t from = out->size();
  Collect c{out, pc, symbolAt(pc - 1)};
  backtrace_pcinfo(btState(), pc - 1, onFrame, ignoreError, &c);
  if (out->size() > from) qualify(&out->back(), c.sym.name, out->get_allocator().resource());
}

void goroutineheader(g* gp, Printer& out) {
  uint32_t status = gp->atomicstatus.load(std::memory_order_relaxed);
  out << "goroutine " << gp->goid << " [";
  if (status == Gwaiting && gp->waitreason != waitReason::zero) {
    out << waitReasonString(gp->waitreason);
  } else {
    out << statusString(status);
  }
  if ((status == Gwaiting || status == Gsyscall) && gp->waitsince != 0) {
    int64_t minutes = cputicksToNanos(cputicks() - gp->waitsince) / 60000000000LL;
    if (minutes >= 1) out << ", " << minutes << " minutes";
  }
  if (gp->lockedm) out << ", locked to thread";
  out << "]:\n";
}

// Not instrumented: the words it reads are saved registers the sanitizers
// know nothing about.
[[gnu::no_sanitize_address, gnu::no_sanitize("undefined")]] int fpwalk(uintptr_t fp, uintptr_t lo, uintptr_t hi,
                                                                     int skip, uintptr_t* pcs, int n, int max) {
  while (n < max) {
    if (fp < lo || fp > hi - 2 * sizeof(uintptr_t) || fp % sizeof(uintptr_t) != 0) break;
    const auto* frame = reinterpret_cast<const uintptr_t*>(fp);
    uintptr_t next = frame[0], ret = frame[1];
    if (ret == 0) break;
    if (skip > 0) {
      skip--;
    } else {
      pcs[n++] = ret;
    }
    if (next <= fp) break;  // frames move outward (up) or the chain is not one
    fp = next;
  }
  return n;
}

[[gnu::noinline]] int fpcallers(int skip, uintptr_t* pcs, int max) {
  auto fp = reinterpret_cast<uintptr_t>(__builtin_frame_address(0));
  uintptr_t lo = 0, hi = 0;
  if (g* gp = getg()) {
    if (fp >= gp->stk.lo && fp < gp->stk.hi) {
      lo = gp->stk.lo;
      hi = gp->stk.hi;
    } else if (m* mp = gp->mp; mp && fp >= mp->g0StackLo && fp < mp->g0StackHi) {
      lo = mp->g0StackLo;
      hi = mp->g0StackHi;
    }
  }
  if (hi == 0) return callersPCs(skip + 1, pcs, max);
  return fpwalk(fp, lo, hi, skip, pcs, 0, max);
}

void tracebackPCs(const uintptr_t* pcs, int n, const TraceOut& out) {
  printFrames(pcs, n, out);
  if (g* gp = getg(); gp && gp->mp && gp->mp->curg == gp) createdBy(gp, out);
}

int parkedPCs(g* gp, uintptr_t* pcs) {
  int n = 0;
  if (gp->slot && gp->sched.sp) {
    TraceRequest req{};
    req.pcs = pcs;
    req.gp = gp;
    uintptr_t sp = traceFrame(gp->sched.sp, &req);
    gobuf to{sp};
    void* fake = nullptr;
    san::startSwitch(&fake, reinterpret_cast<void*>(gp->stk.lo), gp->stk.hi - gp->stk.lo);
    gort_swapcontext(&req.back, &to);
    san::finishSwitch(fake);
    n = req.npcs;
  }
  return n;
}

void tracebackParked(g* gp, const TraceOut& out) {
  uintptr_t pcs[kMaxTracePCs];
  printFrames(pcs, parkedPCs(gp, pcs), out);
  createdBy(gp, out);
}

void tracebackothers(g* me, const TraceOut& out) {
  // allgs is newest first; Go prints the goroutines in creation order
  // (goroutine 1 first in a deadlock dump). The list below a head read
  // once never changes (new Gs are pushed in front of it).
  g* head = allgsHead();
  size_t count = 0;
  for (g* gp = head; gp; gp = gp->alllink) count++;
  std::pmr::vector<g*> gs(out.scratch);
  gs.reserve(count);
  for (g* gp = head; gp; gp = gp->alllink) gs.push_back(gp);
  for (auto it = gs.rbegin(); it != gs.rend(); ++it) {
    g* gp = *it;
    uint32_t st = gp->atomicstatus.load(std::memory_order_relaxed);
    if (gp == me || gp->goid == 0 || st == Gdead || st == Gidle) continue;
    out.text << "\n";
    goroutineheader(gp, out.text);
    if (st == Gwaiting || st == Grunnable) {
      tracebackParked(gp, out);
    } else {
      out.text << "\tgoroutine running on other thread; stack unavailable\n";
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
  g* gp = getg();
  bool onG = gp && gp->mp && gp->mp->curg == gp;
  if (!onG) return 0;  // the dump is of goroutines, made from one
  Printer text(buf);
  TraceOut out{text, std::pmr::new_delete_resource()};
  if (all) stopTheWorld("stack trace");
  goroutineheader(gp, text);
  uintptr_t pcs[kMaxTracePCs];
  tracebackPCs(pcs, callersPCs(0, pcs, kMaxTracePCs), out);
  if (all) {
    tracebackothers(gp, out);
    startTheWorld();
  }
  return int(text.size());
}

}  // namespace gort::runtime
