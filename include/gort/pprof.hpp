// pprof.hpp: package runtime/pprof: profiles that `go tool pprof` reads.
//
//   os::File f = ...;                        // anything with Write(const void*, size_t)
//   pprof::StartCPUProfile(f);               // 100 samples a second of each busy thread
//   ... the program ...
//   pprof::StopCPUProfile();                 // writes the gzipped profile.proto
//
//   pprof::Lookup("goroutine")->WriteTo(f, 0);   // heap, allocs, block, mutex, threadcreate too
//   pprof::WriteHeapProfile(f);
//
// The profiles carry their own symbols (functions, files, lines, inlined
// calls) and mappings: `go tool pprof FILE` needs neither the binary nor a
// network. See README, "Profiling".
#pragma once

#include <csignal>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "gort/context.hpp"
#include "gort/errors.hpp"
#include "gort/runtime_prof.hpp"

namespace gort::pprof {

namespace detail {
using WriteFn = void (*)(void* w, const void* data, size_t n);
template <class W>
WriteFn writerOf() {
  return [](void* wp, const void* data, size_t n) { static_cast<W*>(wp)->Write(data, n); };
}
error startCPUProfile(WriteFn write, void* w);
}  // namespace detail

// Starts the CPU profile; the profile goes to w at StopCPUProfile (w must
// outlive it). Error "cpu profiling already in use" if one is running.
template <class W>
error StartCPUProfile(W& w) {
  return detail::startCPUProfile(detail::writerOf<W>(), &w);
}
// Stops the CPU profile and writes it; nothing if none is running.
void StopCPUProfile();

// A named collection of stacks (Go's *pprof.Profile). The predefined ones
// (goroutine, threadcreate, heap, allocs, block, mutex) are built from the
// runtime's records when written; custom ones (NewProfile) hold what Add
// put there.
class Profile {
 public:
  const std::string& Name() const { return name_; }
  // Stacks in the profile now.
  int Count() const;
  // Custom profiles: records the caller's stack (skip further frames)
  // under value, which must not be there already (panics otherwise, as Go;
  // and on a predefined profile).
  void Add(const void* value, int skip = 0);
  void Remove(const void* value);
  // debug 0: gzipped profile.proto; 1: Go's legacy text with symbols;
  // 2 (goroutine): the same goroutine dump an unrecovered panic prints.
  template <class W>
  error WriteTo(W& w, int debug) const {
    auto [data, err] = write(debug);
    if (err) return err;
    w.Write(data.data(), data.size());
    return {};
  }
  // The bytes WriteTo writes.
  std::pair<std::string, error> write(int debug) const;

  explicit Profile(std::string name, int kind) : name_(std::move(name)), kind_(kind) {}

 private:
  std::string name_;
  int kind_;
};

// The profile of that name, or null.
Profile* Lookup(std::string_view name);
// A new custom profile; panics if the name is taken, as Go.
Profile* NewProfile(std::string name);
// Every profile, sorted by name.
std::vector<Profile*> Profiles();

// Lookup("heap")->WriteTo(w, 0).
template <class W>
error WriteHeapProfile(W& w) {
  return Lookup("heap")->WriteTo(w, 0);
}

// Writes goroutine, heap, allocs, block, mutex and threadcreate profiles
// (debug 0) to dir/NAME.pb.gz each time the process receives sig, from a
// goroutine of its own; the way to profile a running server without a
// network endpoint: `kill -USR1 PID; go tool pprof dir/heap.pb.gz`. Each
// file appears complete (written as NAME.pb.gz.partial, then renamed).
// Idempotent per signal.
void WriteProfilesOnSignal(int sig, std::string dir);

// ---- labels ----

// Key-value pairs attached to a goroutine's samples.
struct LabelSet {
  std::vector<std::pair<std::string, std::string>> list;  // sorted by key
};
// Labels({"k1", "v1", "k2", "v2"}); a later duplicate key wins. Panics on
// an odd count, as Go.
LabelSet Labels(std::initializer_list<std::string_view> keyValues);
// ctx with labels added to (and overriding) those it already carries.
context::Context WithLabels(const context::Context& ctx, const LabelSet& labels);
// The value of key in ctx's labels.
std::pair<std::string, bool> Label(const context::Context& ctx, std::string_view key);
// f(key, value) for each label, until it returns false.
template <class F>
void ForLabels(const context::Context& ctx, F&& f);
// Makes ctx's labels the current goroutine's (and so, at their go
// statements, its new goroutines').
void SetGoroutineLabels(const context::Context& ctx);

// Runs f(ctx with labels added) with those labels on the current goroutine,
// restoring ctx's afterwards (even if f throws).
template <class F>
void Do(const context::Context& ctx, const LabelSet& labels, F&& f) {
  context::Context inner = WithLabels(ctx, labels);
  SetGoroutineLabels(inner);
  struct Restore {
    const context::Context& ctx;
    ~Restore() { SetGoroutineLabels(ctx); }
  } restore{ctx};
  std::forward<F>(f)(inner);
}

namespace detail {
std::vector<std::pair<std::string, std::string>> labelsOf(const context::Context& ctx);
}

template <class F>
void ForLabels(const context::Context& ctx, F&& f) {
  for (const auto& [k, v] : detail::labelsOf(ctx)) {
    if (!f(std::string_view(k), std::string_view(v))) return;
  }
}

}  // namespace gort::pprof
