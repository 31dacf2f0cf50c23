// main.cpp: gort::Main, the program entry (runtime.main's caller, rt0_go).
#include "gort/runtime.hpp"
#include "runtime/stubs.hpp"

namespace gort {

int Main(int argc, char** argv, void (*user_main)()) {
  internal::setArgs(argc, argv);
  internal::mainStart(user_main);
}

}  // namespace gort
