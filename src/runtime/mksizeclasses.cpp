// mksizeclasses.cpp: generates sizeclasses.hpp, the small-object size
// classes (mirrors runtime/mksizeclasses.go). Run by the `sizeclasses`
// target; the test `SizeClasses.UpToDate` fails when the checked-in header
// differs from what this program prints.
//
// The classes follow Go's rules, so that gort wastes what Go wastes:
//   - sizes step by 8 bytes, then 16 from 32 B, then size/8 from 128 B, then
//     256 from 2 KiB, so rounding a request up costs at most 12.5%;
//   - each class's span is the fewest 8 KiB pages whose leftover tail is at
//     most 1/8 of the span;
//   - a class that fits as many objects into as many pages as its
//     predecessor replaces it, and each class then grows to the largest size
//     (a multiple of 128) that still fits that many objects.
// The object index of an offset in a span is a 32-bit multiply by a magic
// number and a shift (Lemire, Kaser and Kurz, "Faster remainder by direct
// computation"); the generator proves the multiply exact for every offset.
//
//   mksizeclasses [--stdout | OUTPUT | --check HEADER]

#include <bit>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace {

constexpr int kMaxSmallSize = 32 << 10;
constexpr int kSmallSizeDiv = 8;
constexpr int kSmallSizeMax = 1024;
constexpr int kLargeSizeDiv = 128;
constexpr int kPageShift = 13;
constexpr int kPageSize = 1 << kPageShift;
constexpr size_t kExpectedClasses = 68;  // Go's count, class 0 included

struct SizeClass {
  int size = 0;
  int npages = 0;
};

bool powerOfTwo(int x) { return x > 0 && (x & (x - 1)) == 0; }

int alignmentFrom(int size, int align) {
  if (!powerOfTwo(size)) return align;
  if (size >= 2048) return 256;
  if (size >= 128) return size / 8;
  if (size >= 32) return 16;
  return align;
}

int spanPagesFor(int size) {
  int bytes = kPageSize;
  while (bytes % size > bytes / 8) bytes += kPageSize;
  return bytes / kPageSize;
}

std::vector<SizeClass> makeClasses() {
  std::vector<SizeClass> classes(1);  // class 0: large objects
  for (int size = 8, align = 8; size <= kMaxSmallSize; size += align) {
    align = alignmentFrom(size, align);
    int npages = spanPagesFor(size);
    SizeClass& last = classes.back();
    int spanBytes = npages * kPageSize;
    if (classes.size() > 1 && npages == last.npages && spanBytes / size == spanBytes / last.size) {
      last.size = size;
      continue;
    }
    classes.push_back({size, npages});
  }
  for (size_t i = 1; i < classes.size(); i++) {
    SizeClass& c = classes[i];
    int spanBytes = c.npages * kPageSize;
    int grown = (spanBytes / (spanBytes / c.size)) & ~(kLargeSizeDiv - 1);
    if (grown > c.size) c.size = grown;
  }
  return classes;
}

uint32_t divMagic(int size) { return uint32_t(~uint32_t(0) / uint32_t(size) + 1); }

// Whether (n * magic) >> 32 == n / size for every offset n in the span.
bool magicExact(const SizeClass& c) {
  uint64_t m = divMagic(c.size);
  for (uint64_t n = 0; n <= uint64_t(c.npages) * kPageSize; n++) {
    if ((n * m) >> 32 != n / uint64_t(c.size)) return false;
  }
  return true;
}

std::vector<int> sizeToClass(const std::vector<SizeClass>& classes, int from, int step, int count) {
  std::vector<int> table(size_t(count), 0);
  for (int i = 0; i < count; i++) {
    int size = from + i * step;
    for (size_t j = 0; j < classes.size(); j++) {
      if (classes[j].size >= size) {
        table[size_t(i)] = int(j);
        break;
      }
    }
  }
  return table;
}

void appendf(std::string& out, const char* fmt, auto... args) {
  char buf[256];
  std::snprintf(buf, sizeof buf, fmt, args...);
  out += buf;
}

void appendTable(std::string& out, const char* decl, const std::vector<int>& values) {
  out += decl;
  out += " = {";
  for (size_t i = 0; i < values.size(); i++) {
    if (i % 16 == 0) out += "\n   ";
    appendf(out, " %d,", values[i]);
  }
  out += "\n};\n";
}

void appendComment(std::string& out, const std::vector<SizeClass>& classes) {
  out += "// class  bytes/obj  bytes/span  objects  tail waste  max waste\n";
  int prev = 0;
  for (size_t i = 1; i < classes.size(); i++) {
    const SizeClass& c = classes[i];
    int span = c.npages * kPageSize, objects = span / c.size, tail = span - objects * c.size;
    double maxWaste = double((c.size - prev - 1) * objects + tail) / span;
    appendf(out, "// %5zu  %9d  %10d  %7d  %10d  %8.2f%%\n", i, c.size, span, objects, tail, 100 * maxWaste);
    prev = c.size;
  }
}

std::string generate() {
  std::vector<SizeClass> classes = makeClasses();
  if (classes.size() != kExpectedClasses) {
    std::fprintf(stderr, "mksizeclasses: %zu classes, expected %zu\n", classes.size(), kExpectedClasses);
    return {};
  }
  std::vector<int> sizes, pages, magic;
  for (const SizeClass& c : classes) {
    if (c.size && !magicExact(c)) {
      std::fprintf(stderr, "mksizeclasses: the 32-bit magic of size %d is not exact\n", c.size);
      return {};
    }
    sizes.push_back(c.size);
    pages.push_back(c.npages);
  }
  std::string out =
      "// Code generated by mksizeclasses.cpp; DO NOT EDIT.\n"
      "// Regenerate with: ninja -C build sizeclasses\n"
      "//\n"
      "// The small-object size classes (mksizeclasses.cpp says how they are\n"
      "// chosen). Class 0 stands for large objects, each in a span of its own.\n"
      "//\n";
  appendComment(out, classes);
  out += "\n#pragma once\n\n#include <cstdint>\n\nnamespace gort::internal {\n\n";
  appendf(out, "inline constexpr uintptr_t kMaxSmallSize = %d;\n", kMaxSmallSize);
  appendf(out, "inline constexpr uintptr_t kSmallSizeDiv = %d;\n", kSmallSizeDiv);
  appendf(out, "inline constexpr uintptr_t kSmallSizeMax = %d;\n", kSmallSizeMax);
  appendf(out, "inline constexpr uintptr_t kLargeSizeDiv = %d;\n", kLargeSizeDiv);
  appendf(out, "inline constexpr int kNumSizeClasses = %zu;\n", classes.size());
  appendf(out, "inline constexpr uintptr_t kPageShift = %d;\n\n", kPageShift);
  appendTable(out, "inline constexpr uint16_t kClassToSize[kNumSizeClasses]", sizes);
  appendTable(out, "inline constexpr uint8_t kClassToAllocNPages[kNumSizeClasses]", pages);
  out += "// n / kClassToSize[c] == (n * kClassToDivMagic[c]) >> 32 for every offset n in a span.\n";
  out += "inline constexpr uint32_t kClassToDivMagic[kNumSizeClasses] = {";
  for (size_t i = 0; i < classes.size(); i++) {
    if (i % 6 == 0) out += "\n   ";
    appendf(out, " %uu,", classes[i].size ? divMagic(classes[i].size) : 0u);
  }
  out += "\n};\n";
  appendTable(out, "inline constexpr uint8_t kSizeToClass8[kSmallSizeMax / kSmallSizeDiv + 1]",
              sizeToClass(classes, 0, kSmallSizeDiv, kSmallSizeMax / kSmallSizeDiv + 1));
  appendTable(out, "inline constexpr uint8_t kSizeToClass128[(kMaxSmallSize - kSmallSizeMax) / kLargeSizeDiv + 1]",
              sizeToClass(classes, kSmallSizeMax, kLargeSizeDiv, (kMaxSmallSize - kSmallSizeMax) / kLargeSizeDiv + 1));
  out += "\n}  // namespace gort::internal\n";
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  std::string text = generate();
  if (text.empty()) return 1;
  std::string arg = argc > 1 ? argv[1] : "--stdout";
  if (arg == "--check" && argc > 2) {
    std::ifstream in(argv[2]);
    std::stringstream have;
    have << in.rdbuf();
    if (have.str() == text) return 0;
    std::fprintf(stderr, "%s is stale: regenerate it with `ninja -C build sizeclasses`\n", argv[2]);
    return 1;
  }
  FILE* f = arg == "--stdout" ? stdout : std::fopen(arg.c_str(), "w");
  if (!f) {
    std::perror(arg.c_str());
    return 1;
  }
  bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size();
  if (f != stdout) ok = std::fclose(f) == 0 && ok;
  return ok ? 0 : 1;
}
