// inittask.cpp: package initialisation (the doInit part of runtime/proc.go).
//
// Placeholder ordering until the registration API lands.
#include "runtime/stubs.hpp"

namespace gort::internal {
void doInits() {}
}  // namespace gort::internal
