// trace.cpp: package runtime/trace (mirrors runtime/trace/trace.go and
// annotation.go): the public face of the execution tracer in
// src/runtime/trace.cpp. Tasks ride in contexts as a value under a private
// key, as in Go.
#include "gort/trace.hpp"

#include <any>

#include "gort/runtime.hpp"
#include "runtime/trace.hpp"
#include "runtime/runtime2.hpp"

namespace gort::trace {

namespace {
const int taskKey = 0;

uint64_t taskOf(const context::Context& ctx) {
  if (!ctx) return 0;
  std::any v = ctx.Value(&taskKey);
  const uint64_t* id = std::any_cast<uint64_t>(&v);
  return id ? *id : 0;
}
}  // namespace

error detail::start(WriteFn write, void* w) {
  bool ok = false;
  // Stopping the world needs a goroutine.
  if (!internal::getg()) {
    gort::Run([&] { ok = internal::startTrace(write, w); });
  } else {
    ok = internal::startTrace(write, w);
  }
  return ok ? error() : errors::New("tracing is already enabled");
}

void Stop() {
  if (!internal::getg()) {
    gort::Run([] { internal::stopTrace(); });
    return;
  }
  internal::stopTrace();
}

bool IsEnabled() { return internal::traceEnabled(); }

void Task::End() const { internal::traceUserTaskEnd(id_); }

std::pair<context::Context, Task> NewTask(const context::Context& pctx, std::string_view taskType) {
  uint64_t parent = taskOf(pctx);
  uint64_t id = internal::traceNewTaskID();
  internal::traceUserTaskCreate(id, parent, taskType);
  return {context::WithValue(pctx ? pctx : context::Background(), &taskKey, id), Task(id)};
}

Region StartRegion(const context::Context& ctx, std::string_view regionType) {
  uint64_t task = taskOf(ctx);
  internal::traceUserRegion(task, false, regionType);
  return Region(task, std::string(regionType));
}

void Region::End() {
  if (ended_) return;
  ended_ = true;
  internal::traceUserRegion(task_, true, type_);
}

void Log(const context::Context& ctx, std::string_view category, std::string_view message) {
  internal::traceUserLog(taskOf(ctx), category, message);
}

}  // namespace gort::trace
