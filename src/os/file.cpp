// file.cpp: package os's File (mirrors os/file.go, file_unix.go).
//
// A File owns a poll::FD. Open tries to register the descriptor with the
// netpoller, as Go does (kind "kindOpenFile"): epoll refuses regular files
// (EPERM), which then use blocking calls through the syscall boundary,
// while FIFOs, ttys and the like become pollable.
#include "gort/os.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "gort/io.hpp"
#include "gort/syscall.hpp"
#include "internal/poll/fd.hpp"

namespace gort::os {

const error& ErrClosed = *new error(errors::New("file already closed"));

struct File::Impl {
  Impl(int fd, std::string n) : pfd(fd, true, true, true), name(std::move(n)) {}
  poll::FD pfd;
  std::string name;
};

namespace {

// poll's "use of closed file" surfaces as os.ErrClosed, as in Go.
error wrapErr(const File::Impl& f, const char* op, error err) {
  if (!err || err == io::EOF_) return err;
  if (err == poll::ErrFileClosing) err = ErrClosed;
  return make_error<PathError>(op, f.name, err);
}

File newFile(int fd, const std::string& name, bool pollable) {
  auto impl = std::make_shared<File::Impl>(fd, name);
  impl->pfd.Init(pollable);
  return File(std::move(impl));
}

int64_t deadlineNanos(time::Time t) {
  if (t.IsZero()) return 0;
  // Deadlines are absolute wall times; the poller runs on the monotonic
  // clock, so convert through the time left.
  int64_t left = time::Until(t).Nanoseconds();
  int64_t now = time::Now().MonoNanos();
  return left <= 0 ? -1 : now + left;
}

}  // namespace

error NewSyscallError(std::string call, error err) {
  if (!err) return err;
  return make_error<SyscallError>(std::move(call), std::move(err));
}

std::pair<int64_t, error> File::Read(void* p, size_t n) {
  if (!impl_) return {0, errors::New("invalid argument")};
  auto [k, err] = impl_->pfd.Read(p, n);
  return {k, wrapErr(*impl_, "read", err)};
}

std::pair<int64_t, error> File::ReadAt(void* p, size_t n, int64_t off) {
  if (!impl_) return {0, errors::New("invalid argument")};
  size_t got = 0;
  while (got < n) {
    auto [k, err] = impl_->pfd.Pread(static_cast<char*>(p) + got, n - got, off + int64_t(got));
    got += size_t(k);
    if (err) return {int64_t(got), wrapErr(*impl_, "read", err)};
  }
  return {int64_t(got), {}};
}

std::pair<int64_t, error> File::Write(const void* p, size_t n) {
  if (!impl_) return {0, errors::New("invalid argument")};
  auto [k, err] = impl_->pfd.Write(p, n);
  return {k, wrapErr(*impl_, "write", err)};
}

error File::Close() {
  if (!impl_) return errors::New("invalid argument");
  return wrapErr(*impl_, "close", impl_->pfd.Close());
}

std::string File::Name() const { return impl_ ? impl_->name : ""; }
int File::Fd() const { return impl_ ? impl_->pfd.Sysfd() : -1; }

error File::SetDeadline(time::Time t) { return wrapErr(*impl_, "SetDeadline", impl_->pfd.SetDeadline(deadlineNanos(t), 'r' + 'w')); }
error File::SetReadDeadline(time::Time t) { return wrapErr(*impl_, "SetReadDeadline", impl_->pfd.SetDeadline(deadlineNanos(t), 'r')); }
error File::SetWriteDeadline(time::Time t) { return wrapErr(*impl_, "SetWriteDeadline", impl_->pfd.SetDeadline(deadlineNanos(t), 'w')); }

std::pair<File, error> OpenFile(const std::string& name, int flag, uint32_t perm) {
  // open can block (NFS, FIFOs without a peer): through the boundary.
  auto [fd, e] = syscall::Blocking([&] {
    int r;
    do r = ::open(name.c_str(), flag | O_CLOEXEC, perm);
    while (r < 0 && errno == EINTR);
    return std::pair<int, int>(r, r < 0 ? errno : 0);
  });
  if (fd < 0) return {File(), make_error<PathError>("open", name, syscall::Errno(e))};
  // Like Go, try the poller only for descriptors that may be pollable; a
  // non-blocking flag would change a regular file's semantics for nobody.
  int fl = fcntl(fd, F_GETFL);
  bool pollable = fl >= 0 && fcntl(fd, F_SETFL, fl | O_NONBLOCK) == 0;
  return {newFile(fd, name, pollable), {}};
}

std::pair<File, error> Open(const std::string& name) { return OpenFile(name, O_RDONLY, 0); }

std::pair<File, error> Create(const std::string& name) { return OpenFile(name, O_RDWR | O_CREAT | O_TRUNC, 0666); }

std::tuple<File, File, error> Pipe() {
  int p[2];
  if (pipe2(p, O_CLOEXEC | O_NONBLOCK) != 0) return {File(), File(), NewSyscallError("pipe2", syscall::Errno(errno))};
  return {newFile(p[0], "|0", true), newFile(p[1], "|1", true), {}};
}

error Remove(const std::string& name) {
  int e = syscall::Blocking([&] { return ::unlink(name.c_str()) == 0 ? 0 : errno; });
  if (e == 0) return {};
  if (e == EISDIR && ::rmdir(name.c_str()) == 0) return {};
  return make_error<PathError>("remove", name, syscall::Errno(e));
}

File NewFile(int fd, const std::string& name) {
  int fl = fcntl(fd, F_GETFL);
  bool pollable = fl >= 0 && (fl & O_NONBLOCK) != 0;
  return newFile(fd, name, pollable);
}

}  // namespace gort::os
