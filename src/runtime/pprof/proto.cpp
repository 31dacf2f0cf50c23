// proto.cpp: profile.proto encoding (mirrors runtime/pprof/proto.go).
//
// The encoder symbolises while it writes, so the file is self-contained:
// each distinct return address becomes one Location whose Lines are the
// source frames of that pc, innermost inlined call first, as profile.proto
// orders them (libbacktrace's DWARF lookup, traceback.cpp's symbolize);
// each distinct (name, file) one Function. Mappings come from
// /proc/self/maps (the executable segments of files), the program's own
// first, since pprof treats the first mapping as the main binary, each
// with its GNU build ID (from the loaded ELF notes, dl_iterate_phdr) and
// every has_* flag set: pprof then trusts the names in the file and looks
// for neither the binary nor a symbol server. A pc outside every mapping
// (JIT code, the vDSO) gets mapping 0 and, unless libbacktrace knows it, no
// lines: pprof prints its address.
//
// Addresses: a stack holds return addresses; a Location's address is the
// call's (pc - 1), as Go writes them, so `pprof -addresses` lands on the
// call instruction. Strings are interned; index 0 is "".
//
// The output is gzipped (zlib, gzip framing), as Go's profiles are.
#include "runtime/pprof/proto.hpp"

#include <elf.h>
#include <link.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory_resource>
#include <sstream>
#include <unordered_map>

#include "runtime/pprof/protobuf.hpp"
#include "runtime/traceback.hpp"

namespace gort::pprof::internal {

std::vector<Frame> framesOf(uintptr_t pc) {
  char local[4096];
  std::pmr::monotonic_buffer_resource mem(local, sizeof local);
  std::pmr::vector<gort::internal::SymFrame> fs(&mem);
  gort::internal::symbolize(pc, &fs);
  std::vector<Frame> out;
  for (const auto& f : fs) {
    out.push_back({pc - 1, std::string(f.function), f.file == "?" ? std::string() : std::string(f.file), f.line,
                   f.entry});
  }
  if (out.empty()) out.push_back({pc - 1, "?", "", 0, 0});
  return out;
}

namespace {

struct Mapping {
  uint64_t start = 0, limit = 0, offset = 0;
  std::string file, buildID;
};

std::string hexOf(const unsigned char* p, size_t n) {
  static const char digits[] = "0123456789abcdef";
  std::string s;
  for (size_t i = 0; i < n; i++) {
    s.push_back(digits[p[i] >> 4]);
    s.push_back(digits[p[i] & 15]);
  }
  return s;
}

// GNU build IDs of the loaded objects, by load address range.
struct LoadedObject {
  uintptr_t lo, hi;
  std::string buildID;
};

std::vector<LoadedObject> loadedObjects() {
  std::vector<LoadedObject> objs;
  dl_iterate_phdr(
      [](dl_phdr_info* info, size_t, void* d) {
        auto* out = static_cast<std::vector<LoadedObject>*>(d);
        LoadedObject o{UINTPTR_MAX, 0, {}};
        for (int i = 0; i < info->dlpi_phnum; i++) {
          const ElfW(Phdr)& ph = info->dlpi_phdr[i];
          uintptr_t at = info->dlpi_addr + ph.p_vaddr;
          if (ph.p_type == PT_LOAD) {
            o.lo = std::min(o.lo, at);
            o.hi = std::max(o.hi, uintptr_t(at + ph.p_memsz));
          }
          if (ph.p_type != PT_NOTE || !o.buildID.empty()) continue;
          auto* p = reinterpret_cast<const unsigned char*>(at);
          const unsigned char* end = p + ph.p_memsz;
          while (p + sizeof(ElfW(Nhdr)) <= end) {
            const auto* nh = reinterpret_cast<const ElfW(Nhdr)*>(p);
            const unsigned char* name = p + sizeof(ElfW(Nhdr));
            const unsigned char* desc = name + ((nh->n_namesz + 3) & ~3u);
            if (nh->n_type == NT_GNU_BUILD_ID && nh->n_namesz == 4 && std::memcmp(name, "GNU", 4) == 0) {
              o.buildID = hexOf(desc, nh->n_descsz);
              break;
            }
            p = desc + ((nh->n_descsz + 3) & ~3u);
          }
        }
        out->push_back(std::move(o));
        return 0;
      },
      &objs);
  return objs;
}

std::vector<Mapping> readMappings() {
  std::vector<Mapping> maps;
  std::ifstream in("/proc/self/maps");
  std::string line;
  char exe[4096];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  std::string self = n > 0 ? std::string(exe, size_t(n)) : std::string();
  std::vector<LoadedObject> objs = loadedObjects();
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string range, perms, offset, dev, inode, path;
    fields >> range >> perms >> offset >> dev >> inode;
    std::getline(fields >> std::ws, path);
    if (perms.size() < 3 || perms[2] != 'x' || path.empty() || path[0] != '/') continue;
    Mapping m;
    std::sscanf(range.c_str(), "%lx-%lx", &m.start, &m.limit);
    m.offset = std::stoull(offset, nullptr, 16);
    m.file = path;
    for (const auto& o : objs) {
      if (m.start >= o.lo && m.start < o.hi) m.buildID = o.buildID;
    }
    maps.push_back(std::move(m));
  }
  std::stable_partition(maps.begin(), maps.end(), [&](const Mapping& m) { return m.file == self; });
  return maps;
}

class Encoder {
 public:
  explicit Encoder(const ProfileData& p) : p_(p) {
    strings_.push_back("");
    index_[""] = 0;
    maps_ = readMappings();
  }

  std::string encode() {
    // Samples first: they create the locations, functions and strings.
    std::vector<ProtoWriter> samples;
    samples.reserve(p_.samples.size());
    for (const auto& s : p_.samples) samples.push_back(sample(s));
    ProtoWriter out;
    for (const auto& t : p_.sampleTypes) out.message(1, valueType(t));
    for (const auto& s : samples) out.message(2, s);
    for (size_t i = 0; i < maps_.size(); i++) out.message(3, mapping(i));
    out.message(11, valueType(p_.periodType));
    if (!p_.defaultSampleType.empty()) out.int64(14, str(p_.defaultSampleType));
    out.int64(9, p_.timeNanos);
    out.int64(10, p_.durationNanos);
    out.int64(12, p_.period);
    for (const auto& s : strings_) out.bytes(6, s);
    return out.data() + locationMsgs_.data() + functionMsgs_.data();
  }

 private:
  int64_t str(const std::string& s) {
    auto [it, added] = index_.try_emplace(s, int64_t(strings_.size()));
    if (added) strings_.push_back(s);
    return it->second;
  }

  ProtoWriter valueType(const ValueType& t) {
    ProtoWriter w;
    w.int64(1, str(t.type));
    w.int64(2, str(t.unit));
    return w;
  }

  uint64_t mappingOf(uintptr_t addr) const {
    for (size_t i = 0; i < maps_.size(); i++) {
      if (addr >= maps_[i].start && addr < maps_[i].limit) return i + 1;
    }
    return 0;
  }

  // The id of key in ids, and whether it was just assigned (1, 2, ...).
  template <class K>
  static std::pair<uint64_t, bool> idOf(std::unordered_map<K, uint64_t>* ids, const K& key) {
    auto [it, added] = ids->try_emplace(key, ids->size() + 1);
    return {it->second, added};
  }

  uint64_t function(const Frame& f) {
    auto [id, added] = idOf(&functions_, f.function + '\0' + f.file);
    if (!added) return id;
    ProtoWriter w;
    w.uint64(1, id);
    w.int64(2, str(f.function));
    w.int64(3, str(f.function));
    w.int64(4, str(f.file));
    functionMsgs_.message(5, w);
    return id;
  }

  uint64_t location(uintptr_t pc) {
    auto [id, added] = idOf(&locationIDs_, pc);
    if (!added) return id;
    ProtoWriter w;
    w.uint64(1, id);
    w.uint64(2, mappingOf(pc - 1));
    w.uint64(3, pc - 1);
    for (const Frame& f : framesOf(pc)) {
      if (f.function == "?") continue;
      ProtoWriter line;
      line.uint64(1, function(f));
      line.int64(2, f.line);
      w.message(4, line);
    }
    locationMsgs_.message(4, w);
    return id;
  }

  ProtoWriter sample(const Sample& s) {
    ProtoWriter w;
    std::vector<uint64_t> locs;
    locs.reserve(s.stack.size());
    for (uintptr_t pc : s.stack) locs.push_back(location(pc));
    w.packed(1, locs);
    w.packed(2, s.values);
    for (const auto& [k, v] : s.labels) {
      ProtoWriter l;
      l.int64(1, str(k));
      l.int64(2, str(v));
      w.message(3, l);
    }
    for (const auto& [k, v] : s.numLabels) {
      ProtoWriter l;
      l.int64(1, str(k));
      l.int64(3, v);
      w.message(3, l);
    }
    return w;
  }

  ProtoWriter mapping(size_t i) {
    const Mapping& m = maps_[i];
    ProtoWriter w;
    w.uint64(1, i + 1);
    w.uint64(2, m.start);
    w.uint64(3, m.limit);
    w.uint64(4, m.offset);
    w.int64(5, str(m.file));
    w.int64(6, str(m.buildID));
    for (int f = 7; f <= 10; f++) w.boolean(f, true);  // functions, filenames, line numbers, inline frames
    return w;
  }

  const ProfileData& p_;
  std::vector<Mapping> maps_;
  std::vector<std::string> strings_;
  std::unordered_map<std::string, int64_t> index_;
  std::unordered_map<uintptr_t, uint64_t> locationIDs_;
  std::unordered_map<std::string, uint64_t> functions_;
  ProtoWriter locationMsgs_, functionMsgs_;  // encoded Location (field 4) and Function (5) entries
};

std::pair<std::string, error> gzip(const std::string& raw) {
  z_stream zs{};
  if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    return {{}, errors::New("pprof: cannot start gzip compression")};
  }
  std::string out(deflateBound(&zs, uLong(raw.size())) + 64, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(raw.data()));
  zs.avail_in = uInt(raw.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = uInt(out.size());
  int rc = deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  if (rc != Z_STREAM_END) return {{}, errors::New("pprof: gzip compression failed")};
  return {std::move(out), {}};
}

}  // namespace

std::pair<std::string, error> encodeProfile(const ProfileData& p) {
  Encoder e(p);
  return gzip(e.encode());
}

}  // namespace gort::pprof::internal
