// syscall_linux.cpp: package syscall (mirrors syscall/syscall_linux.go):
// the boundary helper and Errno, the error values of system calls.
#include "gort/syscall.hpp"

#include "runtime/runtime2.hpp"

namespace gort::internal {

bool onGoroutine() {
  g* gp = getg();
  return gp && gp != gp->mp->g0 && gp->mp->pp;
}

}  // namespace gort::internal
