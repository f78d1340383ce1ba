// When io_uring is blocked (here: a real seccomp filter, as Docker's default profile does), the
// runtime reports the cause and the remedy instead of crashing or hanging.
#include <executor/runtime.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

// Makes io_uring_setup fail with EPERM for this process (and its future children).
bool deny_io_uring() {
  sock_filter filter[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA)),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  sock_fprog prog{static_cast<unsigned short>(sizeof filter / sizeof filter[0]), filter};
  return ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 &&
         ::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) == 0;
}

// Runs `body` in a forked child with io_uring denied; returns what it wrote to the pipe.
template <class F>
std::string in_denied_child(F body) {
  int fds[2];
  if (::pipe(fds) != 0) return "pipe failed";
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(fds[0]);
    std::string out = deny_io_uring() ? body() : std::string("seccomp unavailable");
    [[maybe_unused]] ssize_t w = ::write(fds[1], out.data(), out.size());
    ::_exit(0);
  }
  ::close(fds[1]);
  std::string out;
  char buf[1024];
  ssize_t n;
  while ((n = ::read(fds[0], buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return out;
}

TEST(UringUnavailable, CreateReportsCauseAndRemedy) {
  std::string out = in_denied_child([] {
    ::setenv("EXECUTOR_BACKEND", "io_uring", 1);  // no fallback: report the error
    auto rt = executor::Runtime::create({.workers = 1});
    if (rt.ok()) return std::string("unexpectedly created a runtime");
    return std::string(absl::StatusCodeToString(rt.status().code())) + ": " +
           std::string(rt.status().message());
  });
  EXPECT_THAT(out, testing::HasSubstr("FAILED_PRECONDITION"));
  EXPECT_THAT(out, testing::HasSubstr("io_uring"));
  EXPECT_THAT(out, testing::HasSubstr("seccomp"));
}

TEST(UringUnavailable, ConstructorThrowsSystemError) {
  std::string out = in_denied_child([] {
    ::setenv("EXECUTOR_BACKEND", "io_uring", 1);
    try {
      executor::Runtime rt({.workers = 1});
    } catch (const std::system_error& e) {
      return std::string("errno=") + std::to_string(e.code().value()) + " " + e.what();
    }
    return std::string("no exception");
  });
  EXPECT_THAT(out, testing::HasSubstr("errno=" + std::to_string(EPERM)));
  EXPECT_THAT(out, testing::HasSubstr("Operation not permitted"));
}

}  // namespace
