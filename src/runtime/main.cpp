// main.cpp: gort::Main, the program entry (runtime.main's caller, rt0_go).
#include "gort/runtime.hpp"
#include "runtime/proc.hpp"
#include "runtime/runtime1.hpp"

namespace gort {

int Main(int argc, char** argv, void (*user_main)()) {
  internal::setArgs(argc, argv);
  internal::mainStart(user_main);
}

}  // namespace gort
