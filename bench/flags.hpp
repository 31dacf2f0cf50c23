// flags.hpp: the one flag syntax every benchmark shares with its Go anchor.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include "gort/pprof.hpp"
#include "gort/trace.hpp"

namespace gortbench {

// Go's flag syntax: -name=v or --name=v; -name v for flags that take a
// value; bare -name for booleans. Calls set(text) for each occurrence
// (null text: a bare boolean).
template <class F>
void eachFlag(int argc, char** argv, const char* name, bool isBool, F set) {
  std::string a = std::string("-") + name, b = "-" + a;
  for (int i = 1; i < argc; i++) {
    std::string s = argv[i];
    for (const std::string& f : {a, b}) {
      if (s == f) {
        if (isBool) {
          set(nullptr);
        } else if (i + 1 < argc) {
          set(argv[++i]);
        }
      }
      if (s.rfind(f + "=", 0) == 0) set(s.c_str() + f.size() + 1);
    }
  }
}

inline void parseFlag(int argc, char** argv, const char* name, long* v) {
  eachFlag(argc, argv, name, false, [v](const char* t) { *v = std::atol(t); });
}
inline void parseFlag(int argc, char** argv, const char* name, std::string* v) {
  eachFlag(argc, argv, name, false, [v](const char* t) { *v = t; });
}
// Booleans as Go's strconv.ParseBool reads them.
inline void parseBoolFlag(int argc, char** argv, const char* name, bool* v) {
  eachFlag(argc, argv, name, true, [v](const char* t) {
    std::string val = t ? t : "true";
    *v = val == "1" || val == "t" || val == "T" || val == "true" || val == "TRUE" || val == "True";
  });
}

// -cpuprofile FILE and -trace FILE, as the Go anchors have them
// (anchors/go/internal/prof): a CPU profile and an execution trace of the
// run, from start() to stop().
class ProfFlags {
 public:
  ProfFlags(int argc, char** argv) {
    parseFlag(argc, argv, "cpuprofile", &cpuPath_);
    parseFlag(argc, argv, "trace", &tracePath_);
  }
  void start() {
    if (!cpuPath_.empty()) {
      cpu_.open(cpuPath_);
      if (gort::error err = gort::pprof::StartCPUProfile(cpu_)) throw std::runtime_error(err.Error());
    }
    if (!tracePath_.empty()) {
      trace_.open(tracePath_);
      if (gort::error err = gort::trace::Start(trace_)) throw std::runtime_error(err.Error());
    }
  }
  void stop() {
    if (cpu_.f) {
      gort::pprof::StopCPUProfile();
      cpu_.close();
    }
    if (trace_.f) {
      gort::trace::Stop();
      trace_.close();
    }
  }

 private:
  struct File {
    std::FILE* f = nullptr;
    void open(const std::string& path) {
      f = std::fopen(path.c_str(), "w");
      if (!f) throw std::runtime_error("cannot create " + path);
    }
    void close() {
      std::fclose(f);
      f = nullptr;
    }
    void Write(const void* p, size_t n) { std::fwrite(p, 1, n, f); }
  };
  std::string cpuPath_, tracePath_;
  File cpu_, trace_;
};

}  // namespace gortbench
