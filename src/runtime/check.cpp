// check.cpp: the out-of-line halves of check.hpp's precondition asserts.
// Each is reached only in checked builds; a broken precondition is a
// runtime bug, so it throws (fatal error, all goroutines at level 2).
#include "runtime/check.hpp"

#include "runtime/lockrank.hpp"
#include "runtime/panic.hpp"
#include "runtime/print.hpp"
#include "runtime/runtime2.hpp"

namespace gort::internal {

namespace {

[[noreturn]] void broken(const char* who, const char* what) {
  printstr("runtime: ");
  printstr(who);
  printstr(": ");
  printstr(what);
  printstr("\n");
  throw_("runtime precondition violated");
}

}  // namespace

void checkOnG0(const char* who) {
  g* gp = getg();
  if (gp && gp != gp->mp->g0) broken(who, "not on g0");
}

void checkLockHeld(const mutex* l, const char* who) {
  if (!lockRankHeld(l)) broken(who, "a lock it needs is not held");
}

void checkWorldStopped(const char* who) {
  if (sched.gcwaiting.load(std::memory_order_acquire) == 0 || sched.stopwait != 0) broken(who, "the world is not stopped");
}

void checkOwnsP(const p* pp, const char* who) {
  g* gp = getg();
  if (pp->mp && pp->mp != (gp ? gp->mp : nullptr)) broken(who, "the P is held by another M");
}

void checkCanAllocate(const m* mp) {
  if (mp && mp->mallocing != 0) throw_("malloc deadlock");
}

void noAllocEnter(m* mp) {
  if (mp) mp->mallocing++;
}

void noAllocLeave(m* mp) {
  if (mp) mp->mallocing--;
}

}  // namespace gort::internal
