// traceback.hpp: goroutine headers and stack traces (traceback.cpp).
#pragma once

#include <cstdint>
#include <exception>
#include <memory_resource>
#include <string_view>
#include <vector>

#include "runtime/print.hpp"
#include "runtime/runtime2.hpp"

namespace gort::internal {

// GOTRACEBACK (runtime1.cpp): 0 none, 1 single, 2 all, 3 system; crash adds
// an abort so the OS writes a core.
struct TracebackLevel {
  int32_t level = 1;
  bool all = false;
  bool crash = false;
};
TracebackLevel gotraceback();
// GOTRACEBACK=system from now on unless it says more: the level Go's
// runtime throws (stack overflow) print at whatever the setting. No allocation.
void raiseTracebackToSystem();

// Where a traceback goes: its text into a Printer, and the scratch memory
// its symbol work needs (demangled names, the frames of one pc) from
// `scratch`: the crash arena in a fatal report (panic.cpp), the heap for
// runtime::Stack. Nothing else in a traceback allocates (libbacktrace maps
// its own memory), so with the crash arena a traceback never calls malloc.
struct TraceOut {
  Printer& text;
  std::pmr::memory_resource* scratch;
};

// Return addresses a trace collects (it prints at most 100 frames; hidden
// runtime frames and inlined calls make the two counts differ).
constexpr int kMaxTracePCs = 400;

// "goroutine 7 [chan receive, 2 minutes]:" plus newline.
void goroutineheader(g* gp, Printer& out);
// Frames of a stack recorded as return addresses (innermost first;
// callersPCs), Go's format, followed by the current G's "created by".
void tracebackPCs(const uintptr_t* pcs, int n, const TraceOut& out);
// The frame-pointer chain from fp: the return address of each frame that
// lies inside [lo, hi), word aligned, further out than the last; the first
// `skip` are dropped, the rest appended after the n already in pcs, up to
// max. Reads nothing the bounds check did not admit: async-signal-safe,
// and safe over foreign frames without frame pointers (the walk ends).
int fpwalk(uintptr_t fp, uintptr_t lo, uintptr_t hi, int skip, uintptr_t* pcs, int n, int max);
// callersPCs's contract, by the frame-pointer chain of the stack the caller
// runs on (its goroutine's or its M's g0): tens of nanoseconds where the
// unwinder takes microseconds, for the tracer and the profiles. Off a
// runtime stack, callersPCs.
int fpcallers(int skip, uintptr_t* pcs, int max);
// Frames of a G that is not running (parked or runnable).
void tracebackParked(g* gp, const TraceOut& out);
// Its return addresses (pcs has room for kMaxTracePCs), innermost first.
int parkedPCs(g* gp, uintptr_t* pcs);
// Every goroutine except `me`, each as a header plus frames.
void tracebackothers(g* me, const TraceOut& out);

// One source-level frame of a return address. The strings live in
// libbacktrace's tables or in the memory resource of the vector that
// symbolize filled.
struct SymFrame {
  uintptr_t pc = 0;               // the return address
  std::string_view function;      // demangled; "?" when unknown
  std::string_view file;          // "?" when unknown
  int line = 0;
  uintptr_t entry = 0;            // start of the machine function holding pc
};
// Appends the frames of return address pc (looked up at pc-1, the call),
// innermost inlined call first.
void symbolize(uintptr_t pc, std::pmr::vector<SymFrame>* out);

// Size in bytes of the function holding pc, from the symbol table (0 if
// unknown).
uintptr_t functionSize(uintptr_t pc);
// How many calls inlined into the machine function enclose lookup pc, from
// the DWARF inline records (0: none, or no debug information).
int inlinedDepth(uintptr_t pc);

// GODEBUG=tracebackancestors=N: at a go statement, record the creating
// goroutine's stack and its own ancestors (up to N) in newg.
void saveAncestors(g* newg, g* creator);

// An exception escaped a goroutine: print it as an unrecovered panic and
// exit 2.
[[noreturn]] void fatalUnhandledException(std::exception_ptr e);

}  // namespace gort::internal
