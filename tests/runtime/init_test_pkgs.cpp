// Packages for init_test.cpp registered from a second translation unit, so
// the test covers registration spread over TUs (whose static construction
// order C++ leaves open).
#include <unistd.h>

#include <string>

#include "gort/init.hpp"
#include "gort/runtime.hpp"

namespace inittest {

std::string& events() {
  static std::string* e = new std::string;  // used by static constructors of both TUs
  return *e;
}

void record(const char* what) {
  events() += what;
  events() += ' ';
}

// The Go spec's example (Package initialization):
//   var (a = c + b; b = f(); c = f(); d = 3)
//   func f() int { d++; return d }
// initialises d, b, c, a, giving a=9 b=4 c=5 d=5.
int a, b, c, d;
int64_t initGoroutine;
bool initOnMainThread;

}  // namespace inittest

namespace {

using inittest::record;

int f() { return ++inittest::d; }

gort::Package logPkg("example.com/log");
gort::Var aVar(logPkg, "a", {"c", "b"}, [] {
  inittest::a = inittest::c + inittest::b;
  record("log.a");
});
gort::Var bVar(logPkg, "b", {"d"}, [] {
  inittest::b = f();
  record("log.b");
});
gort::Var cVar(logPkg, "c", {"d"}, [] {
  inittest::c = f();
  record("log.c");
});
gort::Var dVar(logPkg, "d", [] {
  inittest::d = 3;
  record("log.d");
});
gort::Init logInit1(logPkg, [] {
  inittest::initGoroutine = gort::runtime::GoID();
  inittest::initOnMainThread = gettid() == getpid();
  record("log.init1");
});
gort::Init logInit2(logPkg, [] { record("log.init2"); });

gort::Package dbPkg("example.com/db", {"example.com/log"});
gort::Init dbInit(dbPkg, [] { record("db.init"); });

// This file's part of example.com/app; init_test.cpp holds the other, with
// other imports.
gort::Package appPkg("example.com/app", {"example.com/db"});
gort::Init appInit(appPkg, [] { record("app.initB"); });

}  // namespace
