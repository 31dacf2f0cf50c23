// label.cpp: profiler labels in contexts and on goroutines (mirrors
// runtime/pprof/label.go and runtime_setProfLabel).
//
// A context carries its label set as a value (LabelsRef, one reference to
// an immutable runtime ProfLabels); WithLabels makes a new merged set,
// SetGoroutineLabels hands one reference to the goroutine (g.labels), which
// passes it on to the goroutines it starts (proc.cpp) and to the CPU
// samples taken while it runs (cpuprof.cpp). proflabel.hpp says why the
// swap below is safe against the SIGPROF handler.
#include "runtime/pprof/label.hpp"

#include <algorithm>
#include <any>
#include <map>

#include "gort/panic.hpp"
#include "gort/pprof.hpp"
#include "runtime/runtime2.hpp"

namespace gort::pprof {

namespace {

using gort::internal::labelsRelease;
using gort::internal::labelsRetain;
using gort::internal::ProfLabels;

const int labelKey = 0;

// A context value: one reference to a label set.
class LabelsRef {
 public:
  explicit LabelsRef(ProfLabels* l) : l_(l) {}  // adopts the reference
  LabelsRef(const LabelsRef& o) : l_(labelsRetain(o.l_)) {}
  LabelsRef& operator=(const LabelsRef& o) {
    if (this != &o) {
      labelsRelease(l_);
      l_ = labelsRetain(o.l_);
    }
    return *this;
  }
  ~LabelsRef() { labelsRelease(l_); }
  ProfLabels* get() const { return l_; }

 private:
  ProfLabels* l_;
};

const ProfLabels* peek(const context::Context& ctx) {
  if (!ctx) return nullptr;
  std::any v = ctx.Value(&labelKey);
  const auto* ref = std::any_cast<LabelsRef>(&v);
  return ref ? ref->get() : nullptr;
}

}  // namespace

namespace internal {
gort::internal::ProfLabels* retainedLabelsOf(const context::Context& ctx) {
  if (!ctx) return nullptr;
  std::any v = ctx.Value(&labelKey);
  const auto* ref = std::any_cast<LabelsRef>(&v);
  return ref ? labelsRetain(ref->get()) : nullptr;
}
}  // namespace internal

LabelSet Labels(std::initializer_list<std::string_view> keyValues) {
  if (keyValues.size() % 2 != 0) panic(std::string("uneven number of arguments to pprof.Labels"));
  std::map<std::string, std::string> m;
  for (auto it = keyValues.begin(); it != keyValues.end(); it += 2) m[std::string(it[0])] = std::string(it[1]);
  return LabelSet{{m.begin(), m.end()}};
}

context::Context WithLabels(const context::Context& ctx, const LabelSet& labels) {
  std::map<std::string, std::string> merged;
  if (const ProfLabels* old = peek(ctx)) merged.insert(old->kv.begin(), old->kv.end());
  for (const auto& [k, v] : labels.list) merged[k] = v;
  auto* l = new ProfLabels;
  l->kv.assign(merged.begin(), merged.end());
  return context::WithValue(ctx ? ctx : context::Background(), &labelKey, LabelsRef(l));
}

std::pair<std::string, bool> Label(const context::Context& ctx, std::string_view key) {
  if (const ProfLabels* l = peek(ctx)) {
    for (const auto& [k, v] : l->kv) {
      if (k == key) return {v, true};
    }
  }
  return {"", false};
}

namespace detail {
std::vector<std::pair<std::string, std::string>> labelsOf(const context::Context& ctx) {
  const ProfLabels* l = peek(ctx);
  return l ? l->kv : std::vector<std::pair<std::string, std::string>>{};
}
}  // namespace detail

void SetGoroutineLabels(const context::Context& ctx) {
  gort::internal::g* gp = gort::internal::getg();
  if (!gp || !gp->mp || gp != gp->mp->curg) return;  // not on a goroutine: nothing carries labels
  ProfLabels* l = internal::retainedLabelsOf(ctx);
  // One store the SIGPROF handler on this thread sees whole, old or new.
  labelsRelease(__atomic_exchange_n(&gp->labels, l, __ATOMIC_RELAXED));
}

}  // namespace gort::pprof
