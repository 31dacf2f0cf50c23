// child.hpp: this test binary run again as a child process that runs one
// DISABLED_ test alone, for a parent that must watch it from outside
// (signal it while it idles, or give it an environment only an exec sets,
// such as glibc's tunables). Its stdout and stderr come back through pipes.
#pragma once

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

extern char** environ;

namespace gorttest {

class Child {
 public:
  // Runs the test named `test` ("DISABLED_Suite.Name"), with `env`
  // ("NAME=value" each) replacing or adding to the parent's environment.
  explicit Child(const std::string& test, const std::vector<std::string>& env = {}) {
    int out[2], err[2];
    if (pipe(out) != 0 || pipe(err) != 0) std::abort();
    std::string filter = "--gtest_filter=" + test;
    std::vector<char*> envp;
    for (const std::string& e : env) envp.push_back(const_cast<char*>(e.c_str()));
    for (char** e = environ; *e; e++) {
      bool replaced = false;
      for (const std::string& mine : env) replaced |= std::strncmp(*e, mine.c_str(), mine.find('=') + 1) == 0;
      if (!replaced) envp.push_back(*e);
    }
    envp.push_back(nullptr);
    pid_ = fork();
    if (pid_ == 0) {
      dup2(out[1], 1);
      dup2(err[1], 2);
      char* argv[] = {const_cast<char*>("child"), filter.data(), const_cast<char*>("--gtest_also_run_disabled_tests"),
                      nullptr};
      execve("/proc/self/exe", argv, envp.data());
      _exit(127);
    }
    close(out[1]);
    close(err[1]);
    fds_[0] = out[0];
    fds_[1] = err[0];
  }
  ~Child() {
    if (pid_ > 0 && !reaped_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    for (int fd : fds_) close(fd);
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  // Reads until stdout holds `text` (true) or 10 s pass.
  bool waitFor(const std::string& text) {
    for (int i = 0; i < 1000 && out.find(text) == std::string::npos; i++) pump(10);
    return out.find(text) != std::string::npos;
  }
  bool alive() { return waitpid(pid_, &status, WNOHANG) == 0; }
  void signal(int sig) { kill(pid_, sig); }
  // Reads both pipes to their end and reaps the child, killing it with
  // SIGKILL if that takes more than `seconds`.
  int finish(int seconds = 10) {
    for (int i = 0; i < seconds * 100 && (fds_[0] >= 0 || fds_[1] >= 0); i++) pump(10);
    if (fds_[0] >= 0 || fds_[1] >= 0) kill(pid_, SIGKILL);
    waitpid(pid_, &status, 0);
    reaped_ = true;
    return status;
  }

  std::string out, err;
  int status = -1;

 private:
  void pump(int timeoutMs) {
    pollfd p[2] = {{fds_[0], POLLIN, 0}, {fds_[1], POLLIN, 0}};
    if (poll(p, 2, timeoutMs) <= 0) return;
    std::string* dst[2] = {&out, &err};
    for (int i = 0; i < 2; i++) {
      if (!(p[i].revents & (POLLIN | POLLHUP))) continue;
      char buf[4096];
      ssize_t n = read(fds_[i], buf, sizeof buf);
      if (n > 0) {
        dst[i]->append(buf, size_t(n));
      } else {
        close(fds_[i]);
        fds_[i] = -1;
      }
    }
  }

  pid_t pid_ = -1;
  bool reaped_ = false;
  int fds_[2] = {-1, -1};
};

}  // namespace gorttest
