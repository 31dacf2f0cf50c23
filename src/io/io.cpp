// io.cpp: package io's error values (mirrors io/io.go).
#include "gort/io.hpp"

namespace gort::io {

// Package-level errors are never destroyed: goroutines may still be copying
// them while the process exits (Go has no exit-time destructors).
const error& EOF_ = *new error(errors::New("EOF"));
const error& ErrUnexpectedEOF = *new error(errors::New("unexpected EOF"));
const error& ErrShortWrite = *new error(errors::New("short write"));
const error& ErrClosedPipe = *new error(errors::New("io: read/write on closed pipe"));

}  // namespace gort::io
