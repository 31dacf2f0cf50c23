// panic.cpp: panic, recover, deferred calls on the panic path, run-time
// panics from signals, and the fatal end of a program (mirrors
// runtime/panic.go: gopanic, gorecover, sigpanic, fatalpanic, throw, fatal).
//
// Panics are C++ exceptions (gort::PanicException). Go runs deferred calls
// on top of the panicking frames and unwinds only once one recovers; C++
// unwinds first and runs handlers afterwards. gort::func (panic.hpp) joins
// the two: it catches at the boundary of a function that has deferred calls
// and calls Defer::panicking() from its handler, which runs the remaining
// calls with a PanicCtx (Go's _panic) pushed on the goroutine, so recover()
// can find it. A recovered panic makes panicking() return, and func returns
// normally to its caller; otherwise it rethrows and the next func up the
// stack does the same, until the exception leaves the goroutine.
//
// What the unwinding costs us is the stack of the panic site: by the time a
// handler runs, the frames below it are gone. So gort::panic records the
// return addresses of the panicking stack in the exception (as Go's report
// shows the stack at the panic), and the fatal report prints those. A
// foreign C++ exception carries no such record: the report shows the stack
// where it was last rethrown, or where it was thrown if no func stood in
// its way (then std::terminate runs at the throw point, before unwinding).
//
// A panic raised while deferred calls of another run replaces it, and the
// older one is kept as a PanicRecord chained off the new exception, marked
// [recovered] if recover() had taken it; the report prints the chain oldest
// first ("panic: A [recovered]\n\tpanic: B"), as Go's printpanics does. A
// foreign exception that replaces a panic is wrapped in a PanicException to
// carry the chain.
//
// recover() answers only a direct call from a deferred callable: the
// deferred call is entered through callDeferred (never inlined), and the
// callable through a member pointer the compiler cannot see through
// (Defer::thunk), so the callable always has a frame whose caller is the
// thunk, whose caller is callDeferred. recover() checks that its caller is
// the callable's code (one unwind-table lookup; for a callable without a
// single code address, such as a generic lambda, it unwinds four frames and
// checks that shape); a helper the deferred call invokes, or a deferred call
// of a function returning normally meanwhile, sits deeper and gets nil.
// The check is on machine code, so compiler transformations blur it, and
// each is undone: a helper inlined into the callable calls recover from the
// callable's code, but the DWARF inline records at the call say the call is
// the helper's (so it gets nil, as in Go; code built without debug
// information cannot be told apart this way and recovers); identical-code
// folding can make the callable a stub that calls an equal body elsewhere
// (recognised: a small function calling recover's caller), and by the same
// token a tiny callable that only calls a helper lets the helper recover.
//
// runtime::Goexit unwinds with GoexitUnwind: deferred calls run and
// recover() returns nil. A panic raised during a Goexit replaces it; if that
// panic is recovered, the Goexit resumes (Go 1.14+).
//
// libstdc++ ABI used here (checked by static_assert): std::exception_ptr is
// one pointer to the thrown object, and its __cxa_exception_type() names
// the object's type, so the panic path can inspect the exception in flight
// without rethrowing it.
//
// Fatal errors: throw_ is for runtime invariants broken (a runtime bug or
// memory corruption); fatal is for errors of the user program that the
// runtime detects (deadlock). Both print "fatal error: msg", the goroutine
// traces that GOTRACEBACK asks for, and exit with status 2; so does an
// unrecovered panic, after its "panic: ..." lines. The report's text is
// made before anything is printed (preprintPanic, Go's preprintpanics): an
// Error() or String() that panics there is "fatal error: panic while
// printing panic value: ...". Output buffered in stdio is flushed first
// where its lock is free and the failing thread is not in a signal handler
// (flushStdio); the exit is _exit, never a flush that could wait on a lock.
// The printing thread failing again prints "panic during panic" and exits 2;
// any other thread that fails meanwhile waits for the exit.
//
// From startDying to the exit nothing allocates and no lock is taken that
// code outside the runtime may hold: the failing thread may have been
// inside malloc (a stack overflow there, a fault on a corrupt heap, a
// SIGQUIT) holding the arena's lock, which is not recursive, and a report
// that allocates would hang with nothing printed. So the traces are
// printed through a Printer into a fixed buffer, their scratch memory
// comes from the crash arena (a bump allocator over a mapping of its own,
// which malloc never sees), and they run on a crash stack: the demangler
// needs stack in proportion to a name, more than a signal stack has. Both
// live in one mapping the reporting thread makes when its report starts
// (mmap is a plain system call), with a guard page below the stack. Only
// the panic report's own text is made with the heap, by preprintPanic,
// which may call the program's Error(): a panic is a C++ exception, whose
// throw allocated already, so that path never starts under malloc's lock.

#include "gort/internal/proc.hpp"
#include "gort/panic.hpp"
#include "runtime/panic.hpp"
#include "runtime/print.hpp"
#include "runtime/proc.hpp"
#include "runtime/runtime1.hpp"
#include "runtime/sanitizer.hpp"
#include "runtime/signal_unix.hpp"
#include "runtime/stubs.hpp"
#include "runtime/traceback.hpp"
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <cxxabi.h>
#include <exception>
#include <memory>
#include <memory_resource>
#include <signal.h>
#include <string>
#include <sys/mman.h>
#include <typeinfo>
#include <unistd.h>
#include <unwind.h>

extern "C" void gort_sigpanic_trampoline();

namespace gort::internal {

static_assert(sizeof(std::exception_ptr) == sizeof(void*), "libstdc++ exception_ptr layout");

// A panic that another replaced, as the report prints it.
struct PanicRecord {
  any value;
  bool recovered = false;
  std::shared_ptr<PanicRecord> prev;
};

// Go's _panic: the panic now running one function's deferred calls. Lives in
// Defer::panicking's frame; g._panic points at the innermost one.
struct PanicCtx {
  std::exception_ptr exc;
  PanicCtx* link = nullptr;
  bool recovered = false;
  bool goexit = false;          // exc is Goexit's (or a thread cancellation's) unwinding
  bool resumeGoexit = false;    // a panic replaced a Goexit: recovering it resumes the Goexit
  void* callable = nullptr;     // code address of the deferred call now running, if known
};

namespace {

std::atomic<int> dying{0};

// Threads that are not goroutines (a program's own threads using
// gort::func) keep their panic state here; they do not migrate.
thread_local PanicCtx* threadPanic = nullptr;

PanicCtx** panicSlot() {
  g* gp = getg();
  return gp && gp->mp && gp == gp->mp->curg ? &gp->_panic : &threadPanic;
}

void* exceptionObject(const std::exception_ptr& e) {
  void* p;
  std::memcpy(&p, &e, sizeof p);
  return p;
}

PanicException* asPanic(const std::exception_ptr& e) {
  const std::type_info* t = e ? e.__cxa_exception_type() : nullptr;
  return t && *t == typeid(PanicException) ? static_cast<PanicException*>(exceptionObject(e)) : nullptr;
}

bool isUnwindOnly(const std::exception_ptr& e) {
  const std::type_info* t = e ? e.__cxa_exception_type() : nullptr;
  return t && (*t == typeid(GoexitUnwind) || *t == typeid(abi::__forced_unwind));
}

// What recover() returns for an exception: a panic's value, or a foreign
// exception itself.
any valueOf(const std::exception_ptr& e) {
  if (PanicException* p = asPanic(e)) return p->value();
  return any(e);
}

// newExc was raised by a deferred call while ctx's panic ran them: it
// becomes the current panic, and the old one (unless it was a Goexit, which
// reports print nothing for) joins its chain.
void replacePanic(PanicCtx* ctx, std::exception_ptr newExc) {
  if (isUnwindOnly(newExc)) {  // a Goexit inside a deferred call: it takes over
    ctx->exc = std::move(newExc);
    ctx->goexit = true;
    ctx->recovered = false;
    return;
  }
  PanicException* np = asPanic(newExc);
  if (!np) {
    newExc = std::make_exception_ptr(PanicException(any(newExc)));
    np = asPanic(newExc);
  }
  if (ctx->goexit) {
    ctx->resumeGoexit = true;
  } else {
    PanicException* old = asPanic(ctx->exc);
    auto rec = std::make_shared<PanicRecord>(
        PanicRecord{valueOf(ctx->exc), ctx->recovered, old ? old->prev : nullptr});
    if (!np->prev) {
      np->prev = std::move(rec);
    } else {
      PanicRecord* r = np->prev.get();
      while (r->prev) r = r->prev.get();
      r->prev = std::move(rec);
    }
  }
  ctx->exc = std::move(newExc);
  ctx->recovered = false;
  ctx->goexit = false;
}

void writeString(const std::string& s) { printstr(s.c_str()); }

// ---- the fatal end ------------------------------------------------------------------

// Set on the thread that prints the report.
thread_local bool printingReport = false;
// Whether the exit may flush stdio: not when the failure came on the
// signal stack (flushStdio). Written by the reporting thread only.
bool flushAtExit = false;

// Demangling takes ~160 bytes of stack a character of the name: this is
// room for names of ~25,000 characters (longer ones print mangled).
constexpr size_t kCrashStack = 4 << 20;
// Per pc a few KiB, and a pointer per goroutine for the order of the dump.
constexpr size_t kCrashArena = 256 << 20;

// The report's scratch memory: bump allocation in a region malloc never
// sees. A block given back while it is the newest is reclaimed (the
// traceback code frees a pc's blocks newest first); any other stays used
// until the exit. Running out ends the report.
class CrashArena final : public std::pmr::memory_resource {
 public:
  void reset(char* base, size_t size) {
    base_ = base;
    size_ = size;
    top_ = 0;
  }

 private:
  void* do_allocate(size_t bytes, size_t align) override {
    size_t at = (top_ + align - 1) & ~(align - 1);
    if (at > size_ || bytes > size_ - at) {
      printstr("\nruntime: out of memory for the crash report\n");
      _exit(2);
    }
    top_ = at + bytes;
    return base_ + at;
  }
  void do_deallocate(void* p, size_t bytes, size_t) override {
    char* block = static_cast<char*>(p);
    if (block + bytes == base_ + top_) top_ = size_t(block - base_);
  }
  bool do_is_equal(const std::pmr::memory_resource& other) const noexcept override { return this == &other; }

  char* base_ = nullptr;
  size_t size_ = 0;
  size_t top_ = 0;
};

// The crash stack and arena, mapped once by the reporting thread. The
// bounds are atomic because any thread's traceback asks for them
// (crashStackBounds).
struct CrashMemory {
  std::atomic<uintptr_t> stackLo{0};
  std::atomic<uintptr_t> stackHi{0};
  CrashArena arena;
};
CrashMemory crashMemory;

// [guard page][crash stack][arena]
bool mapCrashMemory() {
  if (crashMemory.stackHi.load(std::memory_order_relaxed) != 0) return true;
  auto guard = size_t(getpagesize());
  void* m = mmap(nullptr, guard + kCrashStack + kCrashArena, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (m == MAP_FAILED) return false;
  char* stack = static_cast<char*>(m) + guard;
  mprotect(m, guard, PROT_NONE);
  crashMemory.arena.reset(stack + kCrashStack, kCrashArena);
  crashMemory.stackLo.store(reinterpret_cast<uintptr_t>(stack), std::memory_order_relaxed);
  crashMemory.stackHi.store(reinterpret_cast<uintptr_t>(stack + kCrashStack), std::memory_order_relaxed);
  return true;
}

[[noreturn]] void exitDying(bool abortProcess) {
  if (abortProcess) {
    signal(SIGABRT, SIG_DFL);
    abort();
  }
  // Not exitProcess: its flush would wait for a stdio lock the failing
  // thread may hold.
  if (flushAtExit) flushStdio();
  _exit(2);
}

// What a report prints after its first lines.
struct Report {
  bool runtimeError;     // off a goroutine, GOTRACEBACK=system shows the runtime stack
  bool allGoroutines;    // every goroutine whatever GOTRACEBACK says
  const uintptr_t* pcs;  // the failing stack: recorded at a panic, or collected at the failure
  int npcs;
  const void* sigctx;    // registers dumped at the end, or null
  TracebackLevel tl;
};

// The traces GOTRACEBACK asks for, on the crash stack; then the exit.
[[noreturn]] void printReport(void* arg) {
  san::finishSwitch(nullptr);
  const Report& r = *static_cast<const Report*>(arg);
  char buf[8192];
  Printer text(buf, 2);
  TraceOut out{text, &crashMemory.arena};
  g* gp = getg();
  g* cur = gp && gp->mp ? gp->mp->curg : nullptr;
  bool all = r.tl.all || r.allGoroutines;
  if (cur && cur == gp) {
    text << "\n";
    goroutineheader(cur, text);
    tracebackPCs(r.pcs, r.npcs, out);
  } else {
    all = true;  // not on a goroutine: the goroutines are the useful part
    if (r.runtimeError && r.tl.level >= 2) {
      text << "runtime stack:\n";
      tracebackPCs(r.pcs, r.npcs, out);
    }
  }
  if (all) {
    text.flush();  // out before the wait
    // A runnable goroutine's stack is walked in place: no M may pick it up
    // meanwhile.
    freezetheworld();
    tracebackothers(cur, out);
  }
  if (r.sigctx) sigctxtDumpRegs(r.sigctx, text);
  text.flush();
  exitDying(r.tl.crash);
}

// The end of every fatal report, called straight from its entry point
// (throw_, fatal, fatalSystem, crash, ...): the current stack's trace
// starts at the entry point's caller. pcs, when given, is the panicking
// stack recorded at the panic instead.
[[gnu::noinline]] [[noreturn]] void dieWithTraceback(bool runtimeError, const uintptr_t* pcs = nullptr, int npcs = 0,
                                                     bool allGoroutines = false, const void* sigctx = nullptr) {
  TracebackLevel tl = gotraceback();
  if (tl.level <= 0) exitDying(tl.crash);
  if (!mapCrashMemory()) {
    printstr("runtime: cannot map memory for the traceback\n");
    exitDying(tl.crash);
  }
  Report r{runtimeError, allGoroutines, pcs, npcs, sigctx, tl};
  if (!pcs) {
    auto* here = static_cast<uintptr_t*>(crashMemory.arena.allocate(sizeof(uintptr_t) * kMaxTracePCs));
    r.pcs = here;
    r.npcs = callersPCs(2, here, kMaxTracePCs);  // past this frame and the entry point's
  }
  uintptr_t lo = crashMemory.stackLo.load(std::memory_order_relaxed);
  san::startSwitch(nullptr, reinterpret_cast<void*>(lo), kCrashStack);
  gort_systemstack_on(printReport, &r, lo + kCrashStack);
  __builtin_unreachable();
}

void printFatalError(const char* msg) {
  printstr("fatal error: ");
  printstr(msg);
  printstr("\n");
}

// The "[signal ...]" line of a panic that a fault turned into a run-time
// error (for preprintPanic, which may allocate).
std::string signalLineOf(const any& v) {
  const auto* e = dynamic_cast<const runtime::Error*>(v.error());
  if (!e || e->signal().sig == 0) return "";
  const runtime::Error::Signal& s = e->signal();
  char buf[160];
  Printer line(buf);
  printSignalLine(line, s.sig, uint64_t(s.code), s.addr, s.pc);
  return std::string(buf, line.size());
}

[[noreturn]] void onTerminate() {
  std::exception_ptr e = std::current_exception();
  startDying();
  if (!e) {
    printFatalError("std::terminate called without an active exception");
    dieWithTraceback(true);
  }
  fatalUnhandledException(e);
}

}  // namespace

// Entered through gort_sigpanic_trampoline, as if the faulting instruction
// had called it.
extern "C" [[noreturn]] void gort_sigpanic(int sig, int code, uintptr_t addr, uintptr_t pc) {
  const char* msg = "runtime error: invalid memory address or nil pointer dereference";
  // Go checks divisors in code, so its divide error has no "[signal ...]" line.
  if (sig == SIGFPE) {
    gort::panic(runtime::Error(code == FPE_INTOVF ? "runtime error: integer overflow"
                                                  : "runtime error: integer divide by zero"));
  }
  gort::panic(runtime::Error(msg).withSignal({sig, code, addr, pc}));
}

// The deferred call's entry on the panic path: never inlined, never a tail
// call, so recover() finds it two frames above the deferred callable.
[[gnu::noinline]] void callDeferred(Defer::Node* n, PanicCtx* ctx) {
  ctx->callable = n->fn(n, Defer::Node::kAddress);
  n->fn(n, Defer::Node::kCallDirect);
  asm volatile("");
}

namespace {

struct DirectCheck {
  int depth = 0;
  uintptr_t ip[6] = {};
};

void* enclosingFunction(uintptr_t returnAddress) {
  return _Unwind_FindEnclosingFunction(reinterpret_cast<void*>(returnAddress - 1));
}

// GCC's identical-code folding can turn a callable whose body equals another
// one's into a stub that calls that one: then recover's caller is the other
// body. A stub is small and calls (or jumps to) its target and nothing else
// of the program's own (sanitizer builds add calls into their runtime,
// through the PLT, which has no symbols of ours).
bool forwardsTo(void* stub, void* target) {
  uintptr_t size = functionSize(reinterpret_cast<uintptr_t>(stub));
  if (size == 0 || size > 96 || !target) return false;
  bool found = false, other = false;
  forEachDirectBranch(static_cast<const unsigned char*>(stub), size, [&](const unsigned char* to) {
    if (to == target) {
      found = true;
    } else if (functionSize(reinterpret_cast<uintptr_t>(to)) != 0) {
      other = true;  // calls something else of ours: a real function
    }
    return !other;
  });
  return found && !other;
}

// Whether recover (whose return address is ra) was called by the deferred
// callable that ctx is running. Known callable: compare code addresses.
// Unknown (a generic lambda): the frames must be [recover's caller, thunk,
// callDeferred].
[[gnu::noinline]] bool calledDirectly(PanicCtx* ctx, uintptr_t ra) {
  if (inlinedDepth(ra - 1) != 0) return false;  // a helper, inlined into the callable
  void* caller = enclosingFunction(ra);
  if (ctx->callable) return caller == ctx->callable || forwardsTo(ctx->callable, caller);
  DirectCheck dc;
  _Unwind_Backtrace(
      [](_Unwind_Context* c, void* arg) -> _Unwind_Reason_Code {
        auto* d = static_cast<DirectCheck*>(arg);
        d->ip[d->depth++] = _Unwind_GetIP(c);
        return d->depth == 6 ? _URC_END_OF_STACK : _URC_NO_REASON;
      },
      &dc);
  // [calledDirectly, recover, callable, thunk, callDeferred] or, folded,
  // [calledDirectly, recover, body, stub, thunk, callDeferred].
  auto isCallDeferred = [](uintptr_t ip) { return enclosingFunction(ip) == reinterpret_cast<void*>(&callDeferred); };
  if (dc.depth >= 5 && isCallDeferred(dc.ip[4])) return true;
  return dc.depth == 6 && isCallDeferred(dc.ip[5]) &&
         forwardsTo(enclosingFunction(dc.ip[3]), enclosingFunction(dc.ip[2]));
}

}  // namespace

// Skips its own frame, so it must have one (link-time optimisation would
// otherwise inline it into Callers and skip that).
[[gnu::noinline]] int callersPCs(int skip, uintptr_t* pcs, int max) {
  struct Walk {
    int skip;
    uintptr_t* pcs;
    int max;
    int n;
  } w{skip + 1, pcs, max, 0};
  _Unwind_Backtrace(
      [](_Unwind_Context* ctx, void* arg) -> _Unwind_Reason_Code {
        auto* w = static_cast<Walk*>(arg);
        if (w->skip > 0) {
          w->skip--;
          return _URC_NO_REASON;
        }
        if (w->n == w->max) return _URC_END_OF_STACK;
        int beforeInsn = 0;
        uintptr_t pc = _Unwind_GetIPInfo(ctx, &beforeInsn);
        if (pc == 0) return _URC_END_OF_STACK;
        w->pcs[w->n++] = pc + (beforeInsn ? 1 : 0);
        return _URC_NO_REASON;
      },
      &w);
  return w.n;
}

bool sigpanicRedirect(int sig, siginfo_t* info, void* ucontext) {
  if (sig != SIGSEGV && sig != SIGBUS && sig != SIGFPE) return false;
  if (info->si_code <= 0) return false;  // sent by kill(2), not a fault
  auto addr = reinterpret_cast<uintptr_t>(info->si_addr);
  g* gp = getg();
  if (!gp || !gp->mp || gp != gp->mp->curg || gp->mp->locks != 0) return false;
  // Go's rule: a fault near address zero is a nil dereference; elsewhere it
  // is fatal unless the goroutine asked for panics (debug::SetPanicOnFault).
  if (sig != SIGFPE && addr >= 0x1000 && !gp->paniconfault) return false;
  uintptr_t pc = sigctxtPC(ucontext);
  // Push the faulting pc as a return address (the trampoline's CFI marks
  // it a signal frame, so unwinders look it up as is, not as pc-1). The
  // faulting frame is abandoned, so its red zone need not be kept.
  sigctxtPushCall(ucontext, reinterpret_cast<uintptr_t>(&gort_sigpanic_trampoline), 0);
  sigctxtSetArgs(ucontext, uint64_t(sig), uint64_t(uint32_t(info->si_code)), addr, pc);
  return true;
}

namespace {

// Go's preprintpanics: the report's text, made before anything is printed
// so that an Error() or String() that panics is a fatal error of its own.
[[gnu::noinline]] std::string preprintPanic(const std::exception_ptr& e) {
  try {
    if (PanicException* p = asPanic(e)) return p->message() + signalLineOf(p->value());
    return "panic: " + valueOf(e).String() + "\n";
  } catch (...) {
    any v = valueOf(std::current_exception());
    std::string text = "panic while printing panic value: ";
    if (const std::string* s = v.get_if<std::string>()) {
      text += *s;
    } else {
      text += "type " + typeName(v.type());
    }
    text = "fatal error: " + text + "\n" + signalLineOf(v);
    writeString(text);
    dieWithTraceback(true);
  }
}

}  // namespace

// One thread prints; any other thread that fails meanwhile waits to be
// killed by the exit. The printing thread failing again (a fault in the
// report itself) prints what Go prints and exits at once: whatever faulted
// would fault again. Output the program buffered in stdio goes first.
void startDying() {
  if (dying.fetch_add(1) != 0) {
    if (printingReport) {
      printstr("panic during panic\n");
      _exit(2);
    }
    for (;;) pause();
  }
  printingReport = true;
  flushAtExit = !onSignalStack();
  if (flushAtExit) flushStdio();
}


bool crashStackBounds(uintptr_t* lo, uintptr_t* hi) {
  *hi = crashMemory.stackHi.load(std::memory_order_relaxed);
  *lo = crashMemory.stackLo.load(std::memory_order_relaxed);
  return *hi != 0;
}

// The entry points are never inlined: the trace starts at their caller.
[[gnu::noinline]] [[noreturn]] void throw_(const char* msg) {
  startDying();
  printFatalError(msg);
  dieWithTraceback(true);
}

[[gnu::noinline]] [[noreturn]] void fatal(const char* msg) {
  startDying();
  printFatalError(msg);
  dieWithTraceback(false);
}

[[gnu::noinline]] [[noreturn]] void fatalSystem(const char* msg) {
  startDying();
  raiseTracebackToSystem();
  printFatalError(msg);
  dieWithTraceback(false, nullptr, 0, true);
}

[[gnu::noinline]] [[noreturn]] void crash(bool runtimeError, bool allGoroutines, const void* sigctx) {
  dieWithTraceback(runtimeError, nullptr, 0, allGoroutines, sigctx);
}

// Go's fatalpanic: the panic chain, the signal line of a fault, the traces.
[[gnu::noinline]] [[noreturn]] void fatalUnhandledException(std::exception_ptr e) {
  writeString(preprintPanic(e));
  PanicException* p = asPanic(e);
  dieWithTraceback(false, p && p->npcs ? p->pcs : nullptr, p ? p->npcs : 0);
}

void installTerminateHandler() { std::set_terminate(onTerminate); }

}  // namespace gort::internal

namespace gort {

using internal::PanicCtx;
using internal::PanicRecord;

PanicException::PanicException(any v, std::shared_ptr<PanicRecord> p) : prev(std::move(p)), value_(std::move(v)) {}

std::string PanicException::message() const {
  std::string out;
  auto line = [&out](const any& v, bool recovered) {
    if (!out.empty()) out += "\t";
    out += "panic: " + v.String();
    if (recovered) out += " [recovered]";
    out += "\n";
  };
  // Oldest first: collect the chain, then print it backwards.
  const PanicRecord* chain[64];
  int n = 0;
  for (const PanicRecord* r = prev.get(); r && n < 64; r = r->prev.get()) chain[n++] = r;
  while (n > 0) {
    const PanicRecord* r = chain[--n];
    line(r->value, r->recovered);
  }
  line(value_, false);
  return out;
}

void panic(any v) {
  if (!v.has_value() && !internal::debug.panicnil) v = runtime::PanicNilError();
  PanicException e(std::move(v));
  e.npcs = internal::callersPCs(0, e.pcs, PanicException::kMaxPCs);
  throw e;
}

// Never inlined, under link-time optimisation too: the direct-call check
// reads recover's own return address.
[[gnu::noinline]] any recover() {
  PanicCtx* p = *internal::panicSlot();
  if (!p || p->goexit || p->recovered) return {};
  if (!internal::calledDirectly(p, reinterpret_cast<uintptr_t>(__builtin_return_address(0)))) return {};
  p->recovered = true;
  return internal::valueOf(p->exc);
}

void Defer::panicking() {
  PanicCtx ctx;
  ctx.exc = std::current_exception();
  ctx.goexit = internal::isUnwindOnly(ctx.exc);
  PanicCtx** slot = internal::panicSlot();
  ctx.link = *slot;
  *slot = &ctx;
  struct Pop {
    PanicCtx** slot;
    PanicCtx* link;
    ~Pop() { *slot = link; }
  } pop{slot, ctx.link};
  while (Node* n = top_) {
    top_ = n->prev;
    try {
      internal::callDeferred(n, &ctx);
    } catch (...) {
      internal::replacePanic(&ctx, std::current_exception());
      continue;
    }
    if (!ctx.recovered) continue;
    // Recovered: the function returns normally. Its remaining deferred
    // calls run as on a normal return (a panic in one starts afresh).
    *slot = ctx.link;
    bool resumeGoexit = ctx.resumeGoexit;
    ctx.exc = nullptr;
    try {
      runNormal();
    } catch (...) {
      panicking();
    }
    if (resumeGoexit) throw internal::GoexitUnwind{};
    return;
  }
  if (ctx.exc == std::current_exception()) throw;
  std::rethrow_exception(ctx.exc);
}

}  // namespace gort
