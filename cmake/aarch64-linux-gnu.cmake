# Cross-building gort for linux/arm64 with Debian's cross toolchain
# (g++-aarch64-linux-gnu; scripts/deps.sh arm64 installs it):
#
#   cmake -S . -B build-arm64 -G Ninja --toolchain cmake/aarch64-linux-gnu.cmake
#
# Tests run under qemu-user: CMAKE_CROSSCOMPILING_EMULATOR runs each test
# binary (and gtest's discovery) through qemu-aarch64-static, with the cross
# toolchain's sysroot as the guest's library root (QEMU_LD_PREFIX) and
# GORT_TEST_EMULATOR telling the tests where they run
# (tests/support/emulator.hpp). Both are environment variables so that a
# test that re-executes itself (death tests, signal_test's children), which
# the kernel hands to qemu again through binfmt_misc (scripts/deps.sh
# registers it), inherits them. GoogleTest for arm64 is not packaged:
# scripts/test.sh arm64 builds it from /usr/src/googletest and passes its
# GTest_DIR.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)

set(GORT_CROSS_TRIPLE aarch64-linux-gnu)
set(CMAKE_C_COMPILER ${GORT_CROSS_TRIPLE}-gcc)
set(CMAKE_CXX_COMPILER ${GORT_CROSS_TRIPLE}-g++)
set(CMAKE_ASM_COMPILER ${GORT_CROSS_TRIPLE}-gcc)

set(GORT_ARM64_SYSROOT /usr/${GORT_CROSS_TRIPLE} CACHE PATH "arm64 libraries qemu loads the tests against")
set(CMAKE_FIND_ROOT_PATH ${GORT_ARM64_SYSROOT})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

find_program(GORT_QEMU_AARCH64 NAMES qemu-aarch64-static qemu-aarch64)
if(GORT_QEMU_AARCH64)
  set(CMAKE_CROSSCOMPILING_EMULATOR env QEMU_LD_PREFIX=${GORT_ARM64_SYSROOT} GORT_TEST_EMULATOR=qemu-user
      ${GORT_QEMU_AARCH64})
endif()
