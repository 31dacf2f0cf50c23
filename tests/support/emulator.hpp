// emulator.hpp: whether the test runs under a user-mode emulator. ctest
// sets GORT_TEST_EMULATOR for a cross-built tree (qemu-user for arm64,
// tests/CMakeLists.txt). A test the emulator cannot run faithfully (it
// ignores an madvise, fakes a /proc file, ...) skips there with the reason,
// through GORTTEST_SKIP_UNDER_EMULATOR; nothing else may skip for it.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>

namespace gorttest {

inline const char* emulator() {
  const char* e = std::getenv("GORT_TEST_EMULATOR");
  return e && *e ? e : nullptr;
}

}  // namespace gorttest

#define GORTTEST_SKIP_UNDER_EMULATOR(reason)                    \
  do {                                                          \
    if (const char* emu_ = gorttest::emulator()) {              \
      GTEST_SKIP() << "not faithful under " << emu_ << ": " << (reason); \
    }                                                           \
  } while (0)
