// runtime1.hpp: the environment and GODEBUG (runtime1.cpp; Go's
// runtime1.go).
#pragma once

#include <cstdint>

namespace gort::internal {

// Debug: GODEBUG knobs (runtime1.cpp).
struct DebugVars {
  int32_t schedtrace = 0;
  int32_t scheddetail = 0;
  int32_t inittrace = 0;
  int32_t asyncpreemptoff = 0;
  int32_t panicnil = 0;
  int32_t tracebackancestors = 0;
  int32_t madvdontneed = 1;  // Go's Linux default: freed memory leaves the RSS at once
  int32_t schedrandom = 0;  // gort: randomise run-queue choices (default on under sanitizers)
  int32_t migrateonpark = 0;  // gort: hand every woken G to another M where possible
  int32_t strayhandoff = 1;   // gort: sysmon hands off the P of an M blocked outside syscall::Blocking
  int32_t gctrace = 0;
  int32_t gccheckmark = 0;
  int32_t clobberfree = 0;
};
extern DebugVars debug;
void parsedebugvars();
void setTracebackLevel(const char* level);  // debug::SetTraceback
int32_t gogetenvGOMAXPROCS();
void setArgs(int argc, char** argv);  // os.Args

}  // namespace gort::internal
