// flags.hpp: the one flag syntax every benchmark shares with its Go anchor.
#pragma once

#include <cstdlib>
#include <string>

namespace gortbench {

// Go's flag syntax for one integer flag: -name=v, --name=v, -name v.
inline void parseFlag(int argc, char** argv, const char* name, long* v) {
  std::string a = std::string("-") + name, b = "-" + a;
  for (int i = 1; i < argc; i++) {
    std::string s = argv[i];
    for (const std::string& f : {a, b}) {
      if (s == f && i + 1 < argc) *v = std::atol(argv[++i]);
      if (s.rfind(f + "=", 0) == 0) *v = std::atol(s.c_str() + f.size() + 1);
    }
  }
}

// Go's syntax for a boolean flag: -name, -name=true|false (also 1|0).
inline void parseBoolFlag(int argc, char** argv, const char* name, bool* v) {
  std::string a = std::string("-") + name, b = "-" + a;
  for (int i = 1; i < argc; i++) {
    std::string s = argv[i];
    for (const std::string& f : {a, b}) {
      if (s == f) *v = true;
      if (s.rfind(f + "=", 0) == 0) {
        std::string val = s.substr(f.size() + 1);
        *v = val == "true" || val == "1" || val == "t" || val == "T" || val == "TRUE" || val == "True";
      }
    }
  }
}

}  // namespace gortbench
