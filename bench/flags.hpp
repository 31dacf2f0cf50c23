// flags.hpp: the one flag syntax every benchmark shares with its Go anchor.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include "gort/trace.hpp"

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

// Go's flag syntax for one string flag.
inline void parseFlag(int argc, char** argv, const char* name, std::string* v) {
  std::string a = std::string("-") + name, b = "-" + a;
  for (int i = 1; i < argc; i++) {
    std::string s = argv[i];
    for (const std::string& f : {a, b}) {
      if (s == f && i + 1 < argc) *v = argv[++i];
      if (s.rfind(f + "=", 0) == 0) *v = s.substr(f.size() + 1);
    }
  }
}

// -trace FILE, as the Go anchors have it (anchors/go/internal/prof): an
// execution trace of the run, from construction to destruction.
class TraceFlag {
 public:
  TraceFlag(int argc, char** argv) { parseFlag(argc, argv, "trace", &path_); }
  void start() {
    if (path_.empty()) return;
    out_.f = std::fopen(path_.c_str(), "w");
    if (!out_.f) throw std::runtime_error("cannot create " + path_);
    if (gort::error err = gort::trace::Start(out_)) throw std::runtime_error(err.Error());
  }
  void stop() {
    if (!out_.f) return;
    gort::trace::Stop();
    std::fclose(out_.f);
    out_.f = nullptr;
  }

 private:
  struct File {
    std::FILE* f = nullptr;
    void Write(const void* p, size_t n) { std::fwrite(p, 1, n, f); }
  };
  std::string path_;
  File out_;
};

}  // namespace gortbench
