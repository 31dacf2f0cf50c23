// stubs.hpp: the runtime's assembly entry points (mirrors runtime/stubs.go,
// which declares the functions written in assembly; asm_<arch>.S defines
// them). Everything else the runtime's files share is declared in the
// header of the file that implements it: proc.hpp, panic.hpp, print.hpp,
// runtime1.hpp, os_linux.hpp, inittask.hpp.
#pragma once

#include <cstdint>

#include "runtime/runtime2.hpp"

extern "C" {
void gort_swapcontext(gort::internal::gobuf* from, gort::internal::gobuf* to);
void gort_gostart();
void gort_systemstack_on(void (*fn)(void*), void* arg, uintptr_t sp);
}
