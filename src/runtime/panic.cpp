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
#include "runtime/panic.hpp"

#include <cxxabi.h>
#include <signal.h>
#include <unistd.h>
#include <unwind.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <string>
#include <typeinfo>

#include "gort/internal/proc.hpp"
#include "gort/panic.hpp"
#include "runtime/signal_unix.hpp"
#include "runtime/stubs.hpp"
#include "runtime/traceback.hpp"

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

// Set on the thread that prints the report.
thread_local bool printingReport = false;

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
  flushStdio();
}

// The traces GOTRACEBACK asks for. pcs, when given, is the panicking stack
// recorded at the panic; otherwise the current stack is shown.
[[noreturn]] void dieWithTraceback(bool runtimeError, const uintptr_t* pcs = nullptr, int npcs = 0,
                                   bool allGoroutines = false, const std::string& trailer = "") {
  TracebackLevel tl = gotraceback();
  if (tl.level > 0) {
    g* gp = getg();
    g* cur = gp && gp->mp ? gp->mp->curg : nullptr;
    std::string out;
    bool all = tl.all || allGoroutines;
    if (cur && cur == gp) {
      out += "\n";
      goroutineheader(cur, &out);
      if (pcs) {
        tracebackPCs(pcs, npcs, &out);
      } else {
        tracebackCurrent(2, &out);
      }
    } else {
      all = true;  // not on a goroutine: the goroutines are the useful part
      if (runtimeError && tl.level >= 2) {
        out += "runtime stack:\n";
        tracebackCurrent(2, &out);
      }
    }
    if (all) {
      // A runnable goroutine's stack is walked in place: no M may pick it up
      // meanwhile.
      freezetheworld();
      tracebackothers(cur, &out);
    }
    out += trailer;
    writeString(out);
  }
  if (tl.crash) {
    signal(SIGABRT, SIG_DFL);
    abort();
  }
  // Not exitProcess: its flush would wait for a stdio lock the failing
  // thread may hold.
  flushStdio();
  _exit(2);
}

// The "[signal ...]" line of a panic that a fault turned into a run-time error.
std::string signalLineOf(const any& v) {
  const auto* e = dynamic_cast<const runtime::Error*>(v.error());
  if (!e || e->signal().sig == 0) return "";
  const runtime::Error::Signal& s = e->signal();
  return signalLine(s.sig, uint64_t(s.code), s.addr, s.pc);
}

[[noreturn]] void onTerminate() {
  std::exception_ptr e = std::current_exception();
  startDying();
  if (!e) {
    printstr("fatal error: std::terminate called without an active exception\n");
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

[[noreturn]] void printThrow(const char* msg, const char* signalLine = "") {
  printstr("fatal error: ");
  printstr(msg);
  printstr("\n");
  printstr(signalLine);
  dieWithTraceback(true);
}

// Go's preprintpanics: the report's text, made before anything is printed
// so that an Error() or String() that panics is a fatal error of its own.
std::string preprintPanic(const std::exception_ptr& e) {
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
    printThrow(text.c_str(), signalLineOf(v).c_str());
  }
}

}  // namespace

[[noreturn]] void throw_(const char* msg) {
  startDying();
  printThrow(msg);
}

[[noreturn]] void fatal(const char* msg) {
  startDying();
  printstr("fatal error: ");
  printstr(msg);
  printstr("\n");
  dieWithTraceback(false);
}

[[noreturn]] void fatalSystem(const char* msg) {
  startDying();
  raiseTracebackToSystem();
  printstr("fatal error: ");
  printstr(msg);
  printstr("\n");
  dieWithTraceback(false, nullptr, 0, true);
}

[[noreturn]] void crash(const std::string& report, bool runtimeError, bool allGoroutines, const std::string& trailer) {
  startDying();
  writeString(report);
  dieWithTraceback(runtimeError, nullptr, 0, allGoroutines, trailer);
}

// Go's fatalpanic: the panic chain, the signal line of a fault, the traces.
[[noreturn]] void fatalUnhandledException(std::exception_ptr e) {
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
