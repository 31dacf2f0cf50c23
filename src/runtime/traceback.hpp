// traceback.hpp: goroutine headers and stack traces (traceback.cpp).
#pragma once

#include <cstdint>
#include <exception>
#include <string>

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

// "goroutine 7 [chan receive, 2 minutes]:" plus newline.
void goroutineheader(g* gp, std::string* out);
// Frames of the calling goroutine's stack, Go's format, skipping `skip`
// frames above the caller.
void tracebackCurrent(int skip, std::string* out);
// Frames of a G that is not running (parked or runnable).
void tracebackParked(g* gp, std::string* out);
// Every goroutine except `me`, each as a header plus frames.
void tracebackothers(g* me, std::string* out);

// An exception escaped a goroutine: print it as an unrecovered panic and
// exit 2.
[[noreturn]] void fatalUnhandledException(std::exception_ptr e);

}  // namespace gort::internal
