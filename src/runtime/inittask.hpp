// inittask.hpp: helpers of package initialisation shared with tests (and,
// later, with gctrace, which prints times in the same format).
#pragma once

#include <cstdint>
#include <string>

namespace gort::internal {

// Go's fmtNSAsMS (mgc.go): ns as milliseconds, whole from 10 ms up,
// otherwise two significant digits with at most three decimals.
std::string fmtNSAsMS(uint64_t ns);

// Runs every package's variable initialisers and init functions in Go's
// order (gort::Main, before main).
void doInits();

}  // namespace gort::internal
