// extern.cpp: package runtime's description of itself (Go's extern.go): the
// release. GOOS and GOARCH are constants in gort/runtime.hpp, fixed by the
// target the library is compiled for.

#include <string>

#include "gort/runtime.hpp"

namespace gort::runtime {

// The gort release, and the Go release whose runtime semantics it follows.
std::string Version() { return "gort" GORT_VERSION " (go1.19 semantics)"; }

}  // namespace gort::runtime
