// proto.hpp: a profile in memory and its profile.proto encoding (proto.cpp).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "gort/errors.hpp"

namespace gort::pprof::internal {

struct ValueType {
  std::string type, unit;
};

struct Sample {
  std::vector<uintptr_t> stack;  // return addresses (looked up at pc-1), innermost first
  std::vector<int64_t> values;   // one per sample type
  std::vector<std::pair<std::string, std::string>> labels;
  std::vector<std::pair<std::string, int64_t>> numLabels;  // e.g. "bytes" of a heap sample
};

struct ProfileData {
  std::vector<ValueType> sampleTypes;
  ValueType periodType;
  int64_t period = 0;
  int64_t timeNanos = 0, durationNanos = 0;
  std::string defaultSampleType;
  std::vector<Sample> samples;
};

// The gzipped profile.proto of p: every location symbolised (functions,
// files, lines, inlined calls) and mapped (/proc/self/maps), so pprof needs
// neither the binary nor a symbol server. Error only if compression fails.
std::pair<std::string, error> encodeProfile(const ProfileData& p);

// One source-level frame of return address pc, for the text formats.
struct Frame {
  uintptr_t pc = 0;  // the call's pc (return address - 1)
  std::string function, file;
  int line = 0;
  uintptr_t entry = 0;
};
// Innermost inlined call first; at least one frame ("?" when unknown).
std::vector<Frame> framesOf(uintptr_t pc);

}  // namespace gort::pprof::internal
