// io.cpp: package io's error values (mirrors io/io.go).
#include "gort/io.hpp"

namespace gort::io {

const error EOF_ = errors::New("EOF");
const error ErrUnexpectedEOF = errors::New("unexpected EOF");
const error ErrShortWrite = errors::New("short write");
const error ErrClosedPipe = errors::New("io: read/write on closed pipe");

}  // namespace gort::io
