// internal/frame.hpp: keeping the caller's frame of a runtime entry.
//
// A public inline function whose last act is a call into the runtime
// (close, a send, Unlock's slow path) would let the optimiser turn that call
// into a jump, and the user function it is inlined into would vanish from
// the traceback of the panic or fatal error the runtime raises there. Go's
// tracebacks always show that caller, so the entry points end with
// noTailCall(): an empty asm statement after the call leaves the call in no
// tail position, at the cost of nothing but the call's own return.
#pragma once

namespace gort::internal {

[[gnu::always_inline]] inline void noTailCall() { asm volatile(""); }

}  // namespace gort::internal
