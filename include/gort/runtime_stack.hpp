// runtime_stack.hpp: package runtime's call-stack introspection: Caller,
// Callers, CallersFrames and Stack (traceback.cpp, symtab.cpp).
//
// Semantics follow Go's:
// - Caller(skip): skip 0 is the caller of Caller. pc is the call
//   instruction's pc (return address - 1), as Go's Frame.PC; ok is false
//   when the stack is not that deep.
// - Callers(skip, pcs): fills pcs with return addresses; skip 0 is Callers
//   itself, 1 its caller. Go counts inlined calls as frames when skipping;
//   gort counts the machine frames, and CallersFrames expands inlined calls.
// - CallersFrames(pcs).Next() returns one frame per call, inlined calls
//   included, innermost first; `more` says whether another follows.
// - Stack(buf, all) writes Go's goroutine dump ("goroutine 1 [running]:",
//   frames, "created by ..."), all goroutines when all is set (stopping
//   the world meanwhile), truncated to buf; returns the bytes written.
// Function names are C++'s demangled names; File is the source path from
// the program's debug information (empty if it has none).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace gort::runtime {

struct CallerInfo {
  uintptr_t pc = 0;
  std::string file;
  int line = 0;
  bool ok = false;
};
CallerInfo Caller(int skip);

int Callers(int skip, std::span<uintptr_t> pcs);

struct Frame {
  uintptr_t PC = 0;
  std::string Function;
  std::string File;
  int Line = 0;
  uintptr_t Entry = 0;  // start of the (outermost, physical) function
};

class Frames {
 public:
  explicit Frames(std::vector<uintptr_t> callers) : callers_(std::move(callers)) {}
  std::pair<Frame, bool> Next();

 private:
  std::vector<uintptr_t> callers_;
  size_t next_ = 0;
  std::vector<Frame> pending_;  // expanded frames of the current pc, innermost last
};
Frames CallersFrames(std::span<const uintptr_t> callers);

int Stack(std::span<char> buf, bool all);

}  // namespace gort::runtime
