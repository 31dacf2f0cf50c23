// init.hpp: package initialisation, Go's package-level variable initialisers
// and init functions, run by gort::Main on goroutine 1 before user_main.
//
// A C++ program has no packages, so it declares them: each translation unit
// that belongs to a package declares it (with that file's imports, as each Go
// file has its own import block) and registers its variable initialisers and
// init functions, all as objects of static storage duration at namespace
// scope:
//
//   namespace {
//   gort::Package pkg("example.com/db", {"example.com/log"});
//   int maxConns;
//   int pool;
//   gort::Var poolVar(pkg, "pool", {"maxConns"}, [] { pool = maxConns * 2; });
//   gort::Var maxVar(pkg, "maxConns", [] { maxConns = 8; });
//   gort::Init initDB(pkg, [] { log("db ready"); });
//   }  // namespace
//
// gort::Main then initialises, as the Go spec orders it:
//   - every declared package (whether or not main imports it: a C++ linker
//     keeps what it is given), each once, its imports before it, and the
//     package "main" (if declared) last;
//   - within a package, its variables first: repeatedly the earliest variable
//     in registration order whose dependencies are all initialised (so
//     maxConns before pool above);
//   - then its init functions in registration order.
// Registration order is the order of the objects in one translation unit;
// across translation units of one package (or between packages that do not
// import each other) C++ leaves the order of static construction open, and so
// does gort. Go fixes it by file name; gort cannot see file names.
//
// What the Go compiler rejects, gort::Main rejects before it runs any
// initialiser, with "fatal error: ..." and exit status 2: an import of a
// package that no gort::Package declares, an import cycle, a dependency on a
// variable the package does not register, a variable registered twice, and an
// initialisation cycle among variables.
//
// GODEBUG=inittrace=1 prints Go's line for each package that has
// initialisers; see inittask.cpp for what its byte count measures.
//
// The strings passed here must outlive the program (string literals).
// Registration after gort::Main has started initialising is a fatal error.
#pragma once

#include <initializer_list>

namespace gort {

namespace internal {
struct PackageRecord;
}

class Package {
 public:
  // Declares (or, from another translation unit, re-declares) the package
  // `path`, adding `imports` to its import list.
  explicit Package(const char* path, std::initializer_list<const char*> imports = {});
  Package(const Package&) = delete;
  Package& operator=(const Package&) = delete;

  internal::PackageRecord* record() const { return record_; }

 private:
  internal::PackageRecord* record_;
};

// A package-level variable `name` whose initialiser `init` reads the
// variables named in `deps` (of the same package; variables of imported
// packages are initialised already).
class Var {
 public:
  Var(const Package& pkg, const char* name, void (*init)());
  Var(const Package& pkg, const char* name, std::initializer_list<const char*> deps, void (*init)());
  Var(const Var&) = delete;
  Var& operator=(const Var&) = delete;
};

// func init() { ... }: run after every variable of the package is initialised.
class Init {
 public:
  Init(const Package& pkg, void (*fn)());
  Init(const Init&) = delete;
  Init& operator=(const Init&) = delete;
};

}  // namespace gort
