// os.hpp: package os's files and errors.
#pragma once

#include <fcntl.h>

#include <cstdint>
#include <memory>
#include <string>
#include <tuple>
#include <utility>

#include "gort/errors.hpp"
#include "gort/time.hpp"

namespace gort::poll {
class FD;
}

namespace gort::os {

// os.ErrDeadlineExceeded: "i/o timeout", Timeout() true. Errors from I/O
// past a deadline wrap it (errors::Is).
extern const error& ErrDeadlineExceeded;
extern const error& ErrClosed;  // "file already closed"

// SyscallError records the system call that failed: "connect: connection
// refused".
struct SyscallError final : error::Interface {
  SyscallError(std::string call, error e) : Syscall(std::move(call)), Err(std::move(e)) {}
  std::string Error() const override { return Syscall + ": " + Err.Error(); }
  error Unwrap() const override { return Err; }
  bool Timeout() const override { return Err.Timeout(); }
  bool Temporary() const override { return Err.Temporary(); }
  std::string Syscall;
  error Err;
};
error NewSyscallError(std::string call, error err);  // nil if err is nil

// PathError: "open /nonexistent: no such file or directory".
struct PathError final : error::Interface {
  PathError(std::string op, std::string path, error e) : Op(std::move(op)), Path(std::move(path)), Err(std::move(e)) {}
  std::string Error() const override { return Op + " " + Path + ": " + Err.Error(); }
  error Unwrap() const override { return Err; }
  bool Timeout() const override { return Err.Timeout(); }
  std::string Op, Path;
  error Err;
};

// File is an open file descriptor (Go's *os.File; copies share it).
// Regular files do their I/O through the syscall boundary; pipes and other
// pollable descriptors through the netpoller, so they support deadlines.
class File {
 public:
  File() = default;
  explicit operator bool() const { return impl_ != nullptr; }
  std::pair<int64_t, error> Read(void* p, size_t n);
  std::pair<int64_t, error> ReadAt(void* p, size_t n, int64_t off);
  std::pair<int64_t, error> Write(const void* p, size_t n);
  std::pair<int64_t, error> WriteString(const std::string& s) { return Write(s.data(), s.size()); }
  error Close();
  std::string Name() const;
  int Fd() const;
  error SetDeadline(time::Time t);
  error SetReadDeadline(time::Time t);
  error SetWriteDeadline(time::Time t);

  struct Impl;
  explicit File(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

 private:
  std::shared_ptr<Impl> impl_;
};

std::pair<File, error> Open(const std::string& name);
std::pair<File, error> Create(const std::string& name);
// flag takes <fcntl.h>'s O_* values, the numbers behind Go's os.O_*
// (O_CREAT is Go's O_CREATE).
std::pair<File, error> OpenFile(const std::string& name, int flag, uint32_t perm);
// Pipe returns a connected pair: reads from r return bytes written to w.
std::tuple<File, File, error> Pipe();
error Remove(const std::string& name);
// NewFile wraps an existing descriptor (pollable if the poller accepts it).
File NewFile(int fd, const std::string& name);

}  // namespace gort::os
