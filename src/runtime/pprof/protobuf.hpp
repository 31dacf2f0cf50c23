// protobuf.hpp: the few protocol-buffer encodings profile.proto needs
// (mirrors runtime/pprof/protobuf.go): varints, length-delimited strings
// and messages, packed repeated integers. A message is built in its own
// buffer and appended to its parent's, which keeps the writer free of
// back-patched lengths; profiles are small enough for that to be cheap.
// Zero-valued scalar fields are omitted, as proto3 encodes them.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace gort::pprof::internal {

class ProtoWriter {
 public:
  void uint64(int field, uint64_t v) {
    if (v == 0) return;
    key(field, 0);
    varint(v);
  }
  void int64(int field, int64_t v) { uint64(field, uint64_t(v)); }
  void boolean(int field, bool v) { uint64(field, v ? 1 : 0); }
  // Length-delimited: a string, or an encoded message. Always written, even
  // empty (repeated string fields such as the string table need "").
  void bytes(int field, std::string_view v) {
    key(field, 2);
    varint(v.size());
    buf_.append(v);
  }
  void message(int field, const ProtoWriter& m) { bytes(field, m.buf_); }
  template <class Int>
  void packed(int field, const std::vector<Int>& vs) {
    if (vs.empty()) return;
    ProtoWriter body;
    for (Int v : vs) body.varint(uint64_t(v));
    bytes(field, body.buf_);
  }
  const std::string& data() const { return buf_; }

 private:
  void key(int field, int wire) { varint(uint64_t(field) << 3 | uint64_t(wire)); }
  void varint(uint64_t v) {
    while (v >= 0x80) {
      buf_.push_back(char(v | 0x80));
      v >>= 7;
    }
    buf_.push_back(char(v));
  }
  std::string buf_;
};

}  // namespace gort::pprof::internal
