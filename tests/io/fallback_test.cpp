// The automatic fallback, proven for real: a child process denies itself io_uring with a
// seccomp filter (as Docker's default profile does) before it starts a runtime.
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include <executor/io/io.hpp>
#include <executor/runtime.hpp>

#include "io_test_util.hpp"

namespace executor::io {
namespace {

using namespace std::chrono_literals;

#if defined(__x86_64__)
constexpr unsigned kArch = AUDIT_ARCH_X86_64;
#elif defined(__aarch64__)
constexpr unsigned kArch = AUDIT_ARCH_AARCH64;
#else
#error "fallback_test: add this architecture's AUDIT_ARCH value"
#endif

// Makes io_uring_setup/enter/register fail with EPERM for this process (and its threads).
bool deny_io_uring() {
  sock_filter filter[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, kArch, 1, 0),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 3, 0),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_enter, 2, 0),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_register, 1, 0),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA)),
  };
  sock_fprog prog{static_cast<unsigned short>(sizeof filter / sizeof filter[0]), filter};
  return ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 &&
         ::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) == 0;
}

struct ChildResult {
  int exit_code = -1;
  std::string err;  // the child's stderr
};

// Runs `body` in a forked child with EXECUTOR_BACKEND=`backend` (nullptr: unset), optionally
// under the seccomp filter; returns its exit code and stderr.
ChildResult in_child(const char* backend, bool seccomp, const std::function<int()>& body) {
  int p[2];
  EXPECT_EQ(::pipe2(p, O_CLOEXEC), 0);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(p[1], 2);
    if (backend != nullptr) {
      ::setenv("EXECUTOR_BACKEND", backend, 1);
    } else {
      ::unsetenv("EXECUTOR_BACKEND");
    }
    if (seccomp && !deny_io_uring()) ::_exit(90);
    int code = body();
    std::fflush(stderr);
    ::_exit(code);
  }
  ::close(p[1]);
  ChildResult r;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(p[0], buf, sizeof buf)) > 0) r.err.append(buf, static_cast<std::size_t>(n));
  ::close(p[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

Task<int> echo_and_read_file(std::string path) {
  if (std::string(backend_name()) != "epoll") co_return 10;
  absl::StatusOr<TcpListener> l = TcpListener::bind(SocketAddress::ipv4_loopback(0));
  if (!l.ok()) co_return 11;
  absl::StatusOr<TcpStream> c = co_await TcpStream::connect(l->local_address()).timeout(5s);
  absl::StatusOr<TcpStream> s = co_await l->accept().timeout(5s);
  if (!c.ok() || !s.ok()) co_return 12;
  Buffer out = Buffer::copy_of("ping");
  if (!(co_await c->send_all(out)).ok()) co_return 13;
  Buffer in(4);
  if (!(co_await s->recv_exact(in)).ok() || in.view() != "ping") co_return 14;
  absl::StatusOr<Buffer> file = co_await read_file(path);
  if (!file.ok() || file->view() != "file contents") co_return 15;
  co_return 0;
}

TEST(Fallback, SeccompDeniedIoUringFallsBackToEpollWithOneLogLine) {
  testing::TempPath path("fallback");
  testing::write_sync(path.str(), "file contents");
  ChildResult r = in_child(nullptr, true, [&] {
    Runtime rt({.workers = 2});
    return rt.block_on(echo_and_read_file(path.str()));
  });
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("cannot set up io_uring (Operation not permitted)"), std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("seccomp"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("using the epoll backend"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;  // one line
}

TEST(Fallback, IoUringRequiredFailsClearlyUnderSeccomp) {
  ChildResult r = in_child("io_uring", true, [] {
    absl::StatusOr<std::unique_ptr<Runtime>> rt = Runtime::create({.workers = 1});
    if (rt.ok()) return 20;
    if (rt.status().code() != absl::StatusCode::kFailedPrecondition) return 21;
    std::fprintf(stderr, "%s\n", std::string(rt.status().message()).c_str());
    return 0;
  });
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("seccomp"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("using the epoll backend"), std::string::npos) << r.err;
}

TEST(Fallback, EpollCanBeForcedAndUnknownBackendsAreRejected) {
  ChildResult forced = in_child("epoll", false, [] {
    Runtime rt({.workers = 1});
    return rt.block_on([]() -> Task<int> {
      co_return std::string(backend_name()) == "epoll" && (co_await nop()).ok() ? 0 : 30;
    }());
  });
  EXPECT_EQ(forced.exit_code, 0) << forced.err;
  EXPECT_TRUE(forced.err.empty()) << forced.err;  // forcing is not worth a log line

  ChildResult bogus = in_child("kqueue", false, [] {
    absl::StatusOr<std::unique_ptr<Runtime>> rt = Runtime::create({.workers = 1});
    if (rt.status().code() != absl::StatusCode::kInvalidArgument) return 40;
    std::fprintf(stderr, "%s\n", std::string(rt.status().message()).c_str());
    return 0;
  });
  EXPECT_EQ(bogus.exit_code, 0) << bogus.err;
  EXPECT_NE(bogus.err.find("kqueue"), std::string::npos) << bogus.err;
}

// A pool job that outlives its runtime: an open of a FIFO with no writer blocks its pool
// thread until the runtime (and its completion thread) are long gone. When a writer finally
// opens the FIFO, the job completes without touching anything the runtime freed.
TEST(Fallback, PoolJobThatOutlivesItsRuntimeTouchesNothingItFreed) {
  testing::TempPath path("fifo");
  ASSERT_EQ(::mkfifo(path.str().c_str(), 0600), 0);
  ChildResult r = in_child("epoll", false, [&] {
    {
      Runtime rt({.workers = 1});
      rt.spawn([](std::string p) -> Task<void> {
          (void)co_await File::open_read(std::move(p));
        }(path.str()))
          .detach();
      std::this_thread::sleep_for(50ms);  // the open reaches a pool thread and blocks there
    }  // logs that one operation is still in flight after the grace period
    int w = ::open(path.str().c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);  // ends the open
    if (w < 0) return 50;
    std::this_thread::sleep_for(200ms);  // the pool thread reports its result meanwhile
    ::close(w);
    return 0;
  });
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("still in flight"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("AddressSanitizer"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace executor::io
