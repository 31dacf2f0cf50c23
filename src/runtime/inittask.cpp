// inittask.cpp: package initialisation (mirrors doInit in runtime/proc.go and
// the ordering the Go compiler's pkginit/initorder.go computes).
//
// Go resolves the order at compile time: the linker emits one initTask per
// package (its imports' tasks, then its init functions, the first of which
// initialises the variables in the order initorder.go chose) and runtime.main
// walks main's task depth-first. gort has no compiler, so it gathers the same
// facts at static-construction time (include/gort/init.hpp: gort::Package,
// gort::Var, gort::Init, which may be constructed in any order across
// translation units) and resolves them when gort::Main starts:
//
//   1. plan: resolve every import path; order the packages depth-first over
//      their imports (imports first, each once, "main" last); order each
//      package's variables by Go's rule (repeatedly the earliest registered
//      variable whose dependencies are initialised). Everything the Go
//      compiler would reject (unknown import, import cycle, undefined
//      dependency, redeclared variable, initialisation cycle) is a fatal
//      error here, before any user initialiser has run.
//   2. run: per package, the variable initialisers, then the init functions,
//      timed for GODEBUG=inittrace=1.
//
// Rejected alternative: initialising a package lazily on first use of one of
// its variables (a "construct on first use" static). It hides cycles until
// they deadlock or read zeroes, and it cannot give Go's guarantee that every
// init function has run before main.
//
// Invariants: registration happens only before doInits starts (`sealed`);
// doInits runs once, on goroutine 1 locked to the main thread, so the
// records need no lock after sealing. The registry is never destroyed: init
// objects in other translation units may be destroyed after it otherwise.
//
// inittrace's counts are Go's: what the initialising goroutine allocates on
// gort's heap (gort::New, make_slice; malloc.cpp counts while
// inittraceAllocs names the goroutine), in allocations and bytes after
// size-class rounding. Memory taken with C++ new or malloc is not gort's
// heap and is not counted.
#include "gort/init.hpp"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>


#include "runtime/inittask.hpp"
#include "runtime/malloc.hpp"
#include "runtime/os_linux.hpp"
#include "runtime/panic.hpp"
#include "runtime/print.hpp"
#include "runtime/proc.hpp"
#include "runtime/runtime1.hpp"

namespace gort::internal {

struct VarRecord {
  const char* name;
  std::vector<const char*> deps;
  void (*init)();
};

struct PackageRecord {
  const char* path;
  std::vector<const char*> imports;  // union over declarations, first-seen order
  std::vector<VarRecord> vars;       // registration order
  std::vector<void (*)()> inits;     // registration order
  // Filled in by the plan.
  std::vector<PackageRecord*> importRecords;
  std::vector<const VarRecord*> varOrder;
  enum class Visit : uint8_t { no, inProgress, done } visit = Visit::no;
};

namespace {

struct Registry {
  std::mutex mu;  // static constructors of dlopen()ed libraries may run on any thread
  std::atomic<bool> sealed{false};
  std::vector<std::unique_ptr<PackageRecord>> packages;  // registration order
  std::unordered_map<std::string_view, PackageRecord*> byPath;
};

Registry& registry() {
  static Registry* r = new Registry;  // never destroyed, see above
  return *r;
}

[[noreturn]] void fatalString(const std::string& msg) { fatal(msg.c_str()); }

void checkOpen(const char* what) {
  if (registry().sealed.load(std::memory_order_acquire)) {
    fatalString(std::string(what) + " registered after package initialisation started");
  }
}

PackageRecord* declare(const char* path, std::initializer_list<const char*> imports) {
  checkOpen("gort::Package");
  Registry& r = registry();
  std::lock_guard<std::mutex> guard(r.mu);
  PackageRecord*& rec = r.byPath[path];
  if (!rec) {
    r.packages.push_back(std::make_unique<PackageRecord>());
    rec = r.packages.back().get();
    rec->path = path;
  }
  for (const char* imp : imports) {
    bool seen = false;
    for (const char* have : rec->imports) seen = seen || std::string_view(have) == imp;
    if (!seen) rec->imports.push_back(imp);
  }
  return rec;
}

// ---- plan ----------------------------------------------------------------------------

void resolveImports(PackageRecord* pkg) {
  Registry& r = registry();
  for (const char* imp : pkg->imports) {
    auto it = r.byPath.find(imp);
    if (it == r.byPath.end()) {
      fatalString(std::string("package ") + pkg->path + " imports " + imp +
                  ", which no gort::Package declares");
    }
    pkg->importRecords.push_back(it->second);
  }
}

// Depth-first over imports; `chain` is the import path being walked, for
// the cycle message (Go: "import cycle not allowed").
void orderPackage(PackageRecord* pkg, std::vector<PackageRecord*>* chain, std::vector<PackageRecord*>* out) {
  if (pkg->visit == PackageRecord::Visit::done) return;
  if (pkg->visit == PackageRecord::Visit::inProgress) {
    std::string msg = "import cycle not allowed: ";
    bool inCycle = false;
    for (PackageRecord* p : *chain) {
      inCycle = inCycle || p == pkg;
      if (inCycle) msg += std::string(p->path) + " imports ";
    }
    fatalString(msg + pkg->path);
  }
  pkg->visit = PackageRecord::Visit::inProgress;
  chain->push_back(pkg);
  for (PackageRecord* imp : pkg->importRecords) orderPackage(imp, chain, out);
  chain->pop_back();
  pkg->visit = PackageRecord::Visit::done;
  out->push_back(pkg);
}

// Indices into pkg->vars of each variable's dependencies.
std::vector<std::vector<size_t>> resolveDeps(const PackageRecord* pkg) {
  std::unordered_map<std::string_view, size_t> index;
  for (size_t i = 0; i < pkg->vars.size(); i++) {
    if (!index.emplace(pkg->vars[i].name, i).second) {
      fatalString(std::string("package ") + pkg->path + ": " + pkg->vars[i].name + " redeclared");
    }
  }
  std::vector<std::vector<size_t>> deps(pkg->vars.size());
  for (size_t i = 0; i < pkg->vars.size(); i++) {
    for (const char* d : pkg->vars[i].deps) {
      auto it = index.find(d);
      if (it == index.end()) {
        fatalString(std::string("package ") + pkg->path + ": initialiser of " + pkg->vars[i].name +
                    " refers to undefined variable " + d);
      }
      deps[i].push_back(it->second);
    }
  }
  return deps;
}

// No variable is ready, so each uninitialised one depends on another
// uninitialised one: follow those edges from the first until one repeats.
[[noreturn]] void reportInitCycle(const PackageRecord* pkg, const std::vector<std::vector<size_t>>& deps,
                                  const std::vector<bool>& done) {
  size_t cur = 0;
  while (done[cur]) cur++;
  std::vector<size_t> path;
  std::vector<bool> onPath(done.size());
  while (!onPath[cur]) {
    onPath[cur] = true;
    path.push_back(cur);
    for (size_t d : deps[cur]) {
      if (!done[d]) {
        cur = d;
        break;
      }
    }
  }
  std::string msg = std::string("initialization cycle in package ") + pkg->path + ": ";
  bool inCycle = false;
  for (size_t v : path) {
    inCycle = inCycle || v == cur;
    if (inCycle) msg += std::string(pkg->vars[v].name) + " refers to ";
  }
  fatalString(msg + pkg->vars[cur].name);
}

// The Go spec's rule: repeatedly select the earliest variable in declaration
// order that is ready (all its dependencies initialised).
void orderVars(PackageRecord* pkg) {
  std::vector<std::vector<size_t>> deps = resolveDeps(pkg);
  std::vector<bool> done(pkg->vars.size());
  while (pkg->varOrder.size() < pkg->vars.size()) {
    size_t next = pkg->vars.size();
    for (size_t i = 0; i < pkg->vars.size() && next == pkg->vars.size(); i++) {
      bool ready = !done[i];
      for (size_t d : deps[i]) ready = ready && done[d];
      if (ready) next = i;
    }
    if (next == pkg->vars.size()) reportInitCycle(pkg, deps, done);
    done[next] = true;
    pkg->varOrder.push_back(&pkg->vars[next]);
  }
}

std::vector<PackageRecord*> plan() {
  Registry& r = registry();
  PackageRecord* mainPkg = nullptr;
  for (auto& p : r.packages) {
    resolveImports(p.get());
    if (std::string_view(p->path) == "main") mainPkg = p.get();
  }
  std::vector<PackageRecord*> order, chain;
  for (auto& p : r.packages) {
    if (p.get() != mainPkg) orderPackage(p.get(), &chain, &order);
  }
  if (mainPkg) orderPackage(mainPkg, &chain, &order);
  for (PackageRecord* p : order) orderVars(p);
  return order;
}

// ---- run -----------------------------------------------------------------------------

void runPackage(const PackageRecord* pkg) {
  if (pkg->varOrder.empty() && pkg->inits.empty()) return;  // Go: no initTask fns
  bool trace = debug.inittrace > 0;
  int64_t start = 0;
  if (trace) {
    inittraceAllocs.bytes = inittraceAllocs.allocs = 0;
    inittraceAllocs.gp.store(getg(), std::memory_order_relaxed);
    start = nanotime();
  }
  for (const VarRecord* v : pkg->varOrder) v->init();
  for (void (*fn)() : pkg->inits) fn();
  if (trace) {
    int64_t end = nanotime();
    inittraceAllocs.gp.store(nullptr, std::memory_order_relaxed);
    std::string line = std::string("init ") + pkg->path + " @" +
                       fmtNSAsMS(uint64_t(start - runtimeNanotimeStart())) + " ms, " +
                       fmtNSAsMS(uint64_t(end - start)) + " ms clock, " + std::to_string(inittraceAllocs.bytes) +
                       " bytes, " + std::to_string(inittraceAllocs.allocs) + " allocs\n";
    printstr(line.c_str());
  }
}

}  // namespace

// "0.019", "1.2", "37": see inittask.hpp.
std::string fmtNSAsMS(uint64_t ns) {
  if (ns >= 10000000) return std::to_string(ns / 1000000);
  uint64_t x = ns / 1000;
  if (x == 0) return "0";
  size_t dec = 3;
  for (; x >= 100; x /= 10) dec--;
  std::string digits = std::to_string(x);
  if (digits.size() <= dec) digits.insert(0, dec + 1 - digits.size(), '0');
  digits.insert(digits.size() - dec, ".");
  return digits;
}

void doInits() {
  registry().sealed.store(true, std::memory_order_release);
  for (const PackageRecord* pkg : plan()) runPackage(pkg);
}

}  // namespace gort::internal

namespace gort {

Package::Package(const char* path, std::initializer_list<const char*> imports)
    : record_(internal::declare(path, imports)) {}

Var::Var(const Package& pkg, const char* name, void (*init)()) : Var(pkg, name, {}, init) {}

Var::Var(const Package& pkg, const char* name, std::initializer_list<const char*> deps, void (*init)()) {
  internal::checkOpen("gort::Var");
  std::lock_guard<std::mutex> guard(internal::registry().mu);
  pkg.record()->vars.push_back({name, deps, init});
}

Init::Init(const Package& pkg, void (*fn)()) {
  internal::checkOpen("gort::Init");
  std::lock_guard<std::mutex> guard(internal::registry().mu);
  pkg.record()->inits.push_back(fn);
}

}  // namespace gort
