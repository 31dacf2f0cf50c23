// label.hpp: the label set a context carries (label.cpp), for pprof.cpp.
#pragma once

#include "gort/context.hpp"
#include "runtime/proflabel.hpp"

namespace gort::pprof::internal {

// ctx's label set, or null; the caller gets a reference to release.
gort::internal::ProfLabels* retainedLabelsOf(const context::Context& ctx);

}  // namespace gort::pprof::internal
