// os_linux.hpp: the OS layer (mirrors runtime/os_linux.go).
#pragma once

#include <cstdint>

namespace gort::internal {

// Reads the CPU count (affinity mask, capped by the cgroup CPU quota).
void osinit();
int32_t getproccount();
int32_t cgroupCPULimit(const char* cgroupRoot);  // 0: no limit
int32_t gettid();

}  // namespace gort::internal
