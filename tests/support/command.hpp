// command.hpp: run a shell command and collect what it prints (the tests
// that hand gort's output to Go's tools).
#pragma once

#include <cstdio>
#include <string>

namespace gorttest {

// stdout of `sh -c cmd` (redirect 2>&1 in cmd for stderr too); *status is
// pclose's.
inline std::string runCommand(const std::string& cmd, int* status) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) {
    *status = -1;
    return "popen failed";
  }
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  *status = pclose(p);
  return out;
}

}  // namespace gorttest
