// Package syscall tests: Errno's text as Go's syscall.Errno.Error gives it
// on linux/amd64 (Go 1.19): the table's message for the numbers it names,
// "errno N" for any other, zero included.
#include <gtest/gtest.h>

#include <cerrno>

#include "gort/syscall.hpp"

namespace {

using gort::syscall::Errno;

TEST(Syscall, ErrnoTextIsGos) {
  EXPECT_EQ(Errno(ENOENT).Error(), "no such file or directory");
  EXPECT_EQ(Errno(EAGAIN).Error(), "resource temporarily unavailable");
  EXPECT_EQ(Errno(EPERM).Error(), "operation not permitted");
  EXPECT_EQ(Errno(ERFKILL).Error(), "operation not possible due to RF-kill");
  EXPECT_EQ(Errno(ESTALE).Error(), "stale NFS file handle");
  EXPECT_EQ(Errno(41).Error(), "errno 41");  // unused on Linux
  EXPECT_EQ(Errno(EHWPOISON).Error(), "errno 133");  // past Go's table
  EXPECT_EQ(Errno(0).Error(), "errno 0");
  EXPECT_EQ(Errno(200).Error(), "errno 200");
  EXPECT_EQ(Errno(-1).Error(), "errno -1");
}

}  // namespace
