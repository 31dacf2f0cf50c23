// traceback.hpp: goroutine headers and stack traces (traceback.cpp).
#pragma once

#include <cstdint>
#include <exception>
#include <string>
#include <vector>

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

// "goroutine 7 [chan receive, 2 minutes]:" plus newline.
void goroutineheader(g* gp, std::string* out);
// Frames of the calling goroutine's stack, Go's format, skipping `skip`
// frames above the caller.
void tracebackCurrent(int skip, std::string* out);
// Frames of the stack recorded at a panic (return addresses, innermost
// first; callersPCs), followed by the current G's "created by".
void tracebackPCs(const uintptr_t* pcs, int n, std::string* out);
// Frames of a G that is not running (parked or runnable).
void tracebackParked(g* gp, std::string* out);
// Every goroutine except `me`, each as a header plus frames.
void tracebackothers(g* me, std::string* out);

// One source-level frame of a pc.
struct SymFrame {
  uintptr_t pc = 0;
  std::string function;  // demangled; "?" when unknown
  std::string file;      // "?" when unknown
  int line = 0;
  uintptr_t entry = 0;   // start of the machine function holding pc
};
// The frames at lookup pc (a return address minus one), innermost inlined
// call first.
void symbolize(uintptr_t pc, std::vector<SymFrame>* out);

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
