// traceback.cpp: goroutine headers and symbolised stack traces (mirrors
// runtime/traceback.go; symbolisation through GCC's libbacktrace, which reads
// the program's own DWARF).
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
// Frames of the runtime itself (gort::internal, the asm, std::invoke
// plumbing of gort::go) are hidden unless GOTRACEBACK=system, as Go hides
// runtime frames.
#include "runtime/traceback.hpp"

#include <backtrace.h>
#include <cxxabi.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "runtime/asm_amd64.h"
#include "runtime/sanitizer.hpp"
#include "runtime/stubs.hpp"

extern "C" void gort_trace_trampoline();

namespace gort::internal {

namespace {

constexpr int kMaxFrames = 100;

backtrace_state* btState() {
  static backtrace_state* state = backtrace_create_state(nullptr, 1, nullptr, nullptr);
  return state;
}

std::string demangle(const char* name) {
  if (!name) return "?";
  int status = 0;
  char* d = abi::__cxa_demangle(name, nullptr, nullptr, &status);
  if (status != 0 || !d) return name;
  std::string r = d;
  std::free(d);
  return r;
}

bool isRuntimeFrame(const std::string& fn) {
  static const char* const kPrefixes[] = {
      "gort::internal::", "gort_", "void gort::internal::", "std::__invoke", "std::invoke",
      "void std::__invoke", "decltype (__invoke", "gort::go<", "void gort::go<", "gort::Run<",
      "void gort::Run<", "__cxa_", "__cxxabiv1::", "_Unwind_", "__gxx_personality", "std::terminate",
      "__gnu_cxx::__verbose_terminate_handler", "std::__terminate", "__sanitizer", "__asan", "__tsan"};
  for (const char* p : kPrefixes) {
    if (fn.rfind(p, 0) == 0) return true;
  }
  // The lambda plumbing of gort::go is named "gort::go<...>(...)::{lambda()#1}::operator()()".
  return fn.find("gort::go<") != std::string::npos && fn.find("{lambda") != std::string::npos;
}

struct Frame {
  uintptr_t pc;
  std::string function;
  std::string file;
  int line;
  uintptr_t entry;
};

struct Collect {
  std::vector<Frame>* frames;
};

void symEntry(void* data, uintptr_t, const char*, uintptr_t symval, uintptr_t) {
  *static_cast<uintptr_t*>(data) = symval;
}

int onFrame(void* data, uintptr_t pc, const char* filename, int lineno, const char* function) {
  auto* c = static_cast<Collect*>(data);
  if (c->frames->size() >= 4 * kMaxFrames) return 1;
  Frame f{pc, demangle(function), filename ? filename : "?", lineno, 0};
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
  backtrace_syminfo(btState(), pc, symEntry, nullptr, &f.entry);
  c->frames->push_back(std::move(f));
  return 0;
}

void formatFrames(const std::vector<Frame>& frames, std::string* out) {
  bool system = gotraceback().level >= 3;
  int printed = 0;
  for (const Frame& f : frames) {
    if (!system && isRuntimeFrame(f.function)) continue;
    // Unnamed code (the kernel's signal return trampoline, stripped
    // libraries) says nothing a reader can use.
    if (f.function == "?") continue;
    if (printed++ == kMaxFrames) {
      *out += "...additional frames elided...\n";
      break;
    }
    *out += f.function;
    if (f.function.find('(') == std::string::npos) *out += "(...)";
    *out += "\n\t";
    *out += f.file;
    *out += ":";
    *out += std::to_string(f.line);
    char off[32];
    snprintf(off, sizeof off, " +0x%lx\n", static_cast<unsigned long>(f.entry ? f.pc - f.entry : f.pc));
    *out += off;
  }
}

void collectCurrent(int skip, std::vector<Frame>* frames) {
  Collect c{frames};
  backtrace_full(btState(), skip + 1, onFrame, nullptr, &c);
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
  std::vector<Frame>* frames;
  g* gp;
  void* fakeStack;
};

void createdBy(g* gp, std::string* out) {
  if (!gp->gopc) return;
  std::vector<Frame> frames;
  Collect c{&frames};
  backtrace_pcinfo(btState(), gp->gopc - 1, onFrame, nullptr, &c);
  if (frames.empty()) return;
  const Frame& f = frames.back();  // the outermost of any inlined frames
  *out += "created by ";
  std::string fn = f.function;
  if (auto paren = fn.find('('); paren != std::string::npos && fn.find("::{lambda") == std::string::npos) {
    fn.resize(paren);
  }
  *out += fn;
  if (gp->parentGoid) {
    *out += " in goroutine ";
    *out += std::to_string(gp->parentGoid);
  }
  *out += "\n\t";
  *out += f.file + ":" + std::to_string(f.line);
  char off[32];
  snprintf(off, sizeof off, " +0x%lx\n", static_cast<unsigned long>(f.entry ? gp->gopc - f.entry : gp->gopc));
  *out += off;
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
  if (status == _Gwaiting && gp->waitsince != 0) {
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
  std::vector<Frame> frames;
  collectCurrent(skip + 1, &frames);
  formatFrames(frames, out);
  if (g* gp = getg(); gp && gp->mp && gp->mp->curg == gp) createdBy(gp, out);
}

void tracebackParked(g* gp, std::string* out) {
  std::vector<Frame> frames;
  if (gp->slot && gp->sched.sp) {
    // Build the trampoline's switch frame well below the saved sp.
    uintptr_t s = gp->sched.sp;
    uintptr_t sp = ((s - 512) & ~uintptr_t(15)) - SWITCH_FRAME - 8;
    auto* frame = reinterpret_cast<uint64_t*>(sp);
    std::memset(frame, 0, SWITCH_FRAME + 8);
    uint32_t mxcsr = 0x1F80;
    uint16_t fpcw = 0x037F;
    std::memcpy(reinterpret_cast<char*>(sp) + SWITCH_CSR, &mxcsr, 4);
    std::memcpy(reinterpret_cast<char*>(sp) + SWITCH_CSR + 4, &fpcw, 2);
    TraceRequest req{};
    req.frames = &frames;
    req.gp = gp;
    frame[SWITCH_RBX / 8] = s;
    frame[SWITCH_R12 / 8] = reinterpret_cast<uint64_t>(&req);
    frame[SWITCH_RET / 8] = reinterpret_cast<uint64_t>(&gort_trace_trampoline);
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
  for (g* gp = allgsHead(); gp; gp = gp->alllink) {
    uint32_t st = gp->atomicstatus.load(std::memory_order_relaxed);
    if (gp == me || gp->goid == 0 || st == _Gdead || st == _Gidle) continue;
    *out += "\n";
    goroutineheader(gp, out);
    if (st == _Grunning) {
      *out += "\tgoroutine running on other thread; stack unavailable\n";
      createdBy(gp, out);
    } else {
      tracebackParked(gp, out);
    }
  }
}

}  // namespace gort::internal
