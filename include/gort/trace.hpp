// trace.hpp: package runtime/trace: execution traces for `go tool trace`.
//
//   os::File f = ...;
//   trace::Start(f);            // anything with Write(const void*, size_t)
//   ... the program ...
//   trace::Stop();              // writes the trace, Go 1.19's format
//
// Then `go tool trace FILE` (Go 1.19's) shows goroutines, Ps, blocking,
// system calls and the user annotations below. The trace is kept in memory
// until Stop writes it (see README, "Tracing").
#pragma once

#include <string>
#include <string_view>
#include <utility>

#include "gort/context.hpp"
#include "gort/errors.hpp"

namespace gort::trace {

namespace detail {
using WriteFn = void (*)(void* w, const void* data, size_t n);
error start(WriteFn write, void* w);
}  // namespace detail

// Starts tracing; the trace goes to w at Stop. Error "tracing is already
// enabled" if it is. w must outlive Stop.
template <class W>
error Start(W& w) {
  return detail::start([](void* wp, const void* data, size_t n) { static_cast<W*>(wp)->Write(data, n); }, &w);
}
// Stops tracing and writes the trace; nothing if tracing is off.
void Stop();
bool IsEnabled();

// A logical operation spanning goroutines (trace.NewTask). Copies name the
// same task.
class Task {
 public:
  void End() const;
  uint64_t id() const { return id_; }
  explicit Task(uint64_t id) : id_(id) {}

 private:
  uint64_t id_;
};
// A child of the task in pctx (if any); the returned context carries it.
std::pair<context::Context, Task> NewTask(const context::Context& pctx, std::string_view taskType);

// A time interval in one goroutine, within the task of its context.
class Region {
 public:
  void End();
  Region(uint64_t task, std::string regionType) : task_(task), type_(std::move(regionType)) {}

 private:
  uint64_t task_;
  std::string type_;
  bool ended_ = false;
};
// Must end on the goroutine that started it.
Region StartRegion(const context::Context& ctx, std::string_view regionType);
// Runs fn inside a region (ended even if fn throws).
template <class F>
void WithRegion(const context::Context& ctx, std::string_view regionType, F&& fn) {
  struct Ender {
    Region r;
    ~Ender() { r.End(); }
  } ender{StartRegion(ctx, regionType)};
  std::forward<F>(fn)();
}
// A one-off event with a category and a message, within ctx's task.
void Log(const context::Context& ctx, std::string_view category, std::string_view message);

}  // namespace gort::trace
