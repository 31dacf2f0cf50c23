// panic.cpp: fatal errors and unrecovered exceptions (mirrors the fatal half
// of runtime/panic.go: throw, fatal, fatalpanic).
//
// throw_ is for runtime invariants broken (a runtime bug or memory
// corruption); fatal is for errors of the user program that the runtime
// detects (deadlock). Both print "fatal error: msg", the goroutine traces
// that GOTRACEBACK asks for, and exit with status 2.
//
// An exception that escapes a goroutine is an unrecovered panic. The
// goroutine's entry has no catch-all, so the C++ runtime finds no handler and
// calls std::terminate at the throw point, before unwinding: the handler
// installed here then still sees the frames that threw, as Go's panic
// traceback shows the panicking frames.
#include <signal.h>

#include <atomic>
#include <cstdlib>
#include <cxxabi.h>
#include <exception>
#include <string>
#include <typeinfo>

#include "runtime/stubs.hpp"
#include "runtime/traceback.hpp"

namespace gort::internal {

namespace {

std::atomic<int> dying{0};

void writeString(const std::string& s) { printstr(s.c_str()); }

// One thread prints; any other thread that fails meanwhile waits to be
// killed by the exit.
void startDying() {
  if (dying.fetch_add(1) != 0) {
    for (;;) pause();
  }
}

[[noreturn]] void dieWithTraceback(bool runtimeError) {
  TracebackLevel tl = gotraceback();
  if (tl.level > 0) {
    g* gp = getg();
    g* cur = gp && gp->mp ? gp->mp->curg : nullptr;
    std::string out;
    bool all = tl.all;
    if (cur && cur == gp) {
      out += "\n";
      goroutineheader(cur, &out);
      tracebackCurrent(2, &out);
    } else {
      all = true;  // not on a goroutine: the goroutines are the useful part
      if (runtimeError && tl.level >= 2) {
        out += "runtime stack:\n";
        tracebackCurrent(2, &out);
      }
    }
    if (all) tracebackothers(cur, &out);
    writeString(out);
  }
  if (tl.crash) {
    signal(SIGABRT, SIG_DFL);
    abort();
  }
  exitProcess(2);
}

std::string typeName(const std::type_info* ti) {
  if (!ti) return "unknown";
  int status = 0;
  char* d = abi::__cxa_demangle(ti->name(), nullptr, nullptr, &status);
  std::string r = status == 0 && d ? d : ti->name();
  std::free(d);
  return r;
}

// The panic value of a C++ exception, as Go prints panic values.
std::string panicValue(std::exception_ptr e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    return ex.what();
  } catch (const char* s) {
    return s;
  } catch (const std::string& s) {
    return s;
  } catch (...) {
    return "(" + typeName(abi::__cxa_current_exception_type()) + ")";
  }
}

[[noreturn]] void onTerminate() {
  std::exception_ptr e = std::current_exception();
  startDying();
  if (!e) {
    printstr("fatal error: std::terminate called without an active exception\n");
    dieWithTraceback(true);
  }
  fatalUnhandledException(e);
}

}  // namespace

[[noreturn]] void throw_(const char* msg) {
  startDying();
  printstr("fatal error: ");
  printstr(msg);
  printstr("\n");
  dieWithTraceback(true);
}

[[noreturn]] void fatal(const char* msg) {
  startDying();
  printstr("fatal error: ");
  printstr(msg);
  printstr("\n");
  dieWithTraceback(false);
}

[[noreturn]] void fatalUnhandledException(std::exception_ptr e) {
  std::string msg = "panic: " + panicValue(e) + "\n";
  writeString(msg);
  dieWithTraceback(false);
}

void installTerminateHandler() { std::set_terminate(onTerminate); }

}  // namespace gort::internal
