// symtab.cpp: runtime.Caller, Callers and CallersFrames (mirrors
// runtime/symtab.go and extern.go).
//
// Go keeps its own pc tables; gort asks libbacktrace (traceback.cpp), which
// reads the DWARF line tables and inline records of the program. Callers is
// cheap (an unwind, no symbols); the symbol work happens in
// CallersFrames().Next(), one pc at a time, as in Go.
#include "gort/runtime_stack.hpp"

#include <memory_resource>
#include <string>
#include <vector>

#include "runtime/panic.hpp"
#include "runtime/traceback.hpp"

namespace gort::runtime {

// Both count frames from their own, which must exist: never inlined, under
// link-time optimisation too.
[[gnu::noinline]] int Callers(int skip, std::span<uintptr_t> pcs) {
  // Go: skip 0 is Callers itself, which is where callersPCs(0) starts.
  int n = internal::callersPCs(skip, pcs.data(), int(pcs.size()));
  asm volatile("");  // keep this frame: no tail call
  return n;
}

std::pair<Frame, bool> Frames::Next() {
  while (pending_.empty() && next_ < callers_.size()) {
    uintptr_t pc = callers_[next_++];
    char local[2048];
    std::pmr::monotonic_buffer_resource mem(local, sizeof local);
    std::pmr::vector<internal::SymFrame> frames(&mem);
    internal::symbolize(pc, &frames);
    if (frames.empty()) frames.push_back({pc, "?", "", 0, 0});
    for (auto it = frames.rbegin(); it != frames.rend(); ++it) {  // innermost ends up last
      // PC is the call instruction's, as Go's Frame.PC.
      pending_.push_back(Frame{pc - 1, std::string(it->function), it->file == "?" ? "" : std::string(it->file),
                               it->line, it->entry});
    }
  }
  if (pending_.empty()) return {Frame{}, false};
  Frame f = std::move(pending_.back());
  pending_.pop_back();
  return {std::move(f), !pending_.empty() || next_ < callers_.size()};
}

Frames CallersFrames(std::span<const uintptr_t> callers) {
  return Frames(std::vector<uintptr_t>(callers.begin(), callers.end()));
}

[[gnu::noinline]] CallerInfo Caller(int skip) {
  // Frame 0 is Caller itself, so skip 0 (our caller) is frame 1.
  uintptr_t pcs[64];
  int n = internal::callersPCs(0, pcs, 64);
  skip++;
  Frames frames = CallersFrames(std::span<const uintptr_t>(pcs, size_t(n)));
  for (int i = 0;; i++) {
    auto [f, more] = frames.Next();
    if (f.PC == 0) return {};
    if (i == skip) return {f.PC, f.File, f.Line, true};
    if (!more) return {};
  }
}

}  // namespace gort::runtime
