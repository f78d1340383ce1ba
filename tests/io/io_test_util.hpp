// Helpers shared by the executor::io tests.
#pragma once

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>
#include <utility>

#include <gtest/gtest.h>

#include <executor/cancellation_token.hpp>
#include <executor/io/io.hpp>
#include <executor/join_handle.hpp>
#include <executor/runtime.hpp>
#include <executor/sleep.hpp>
#include <executor/spawn.hpp>
#include <executor/task.hpp>
#include <executor/yield.hpp>

namespace executor::io::testing {

// Open descriptors of this process (to prove nothing leaks).
inline int open_fds() {
  int n = 0;
  DIR* d = ::opendir("/proc/self/fd");
  if (d == nullptr) return -1;
  while (dirent* e = ::readdir(d)) {
    if (e->d_name[0] != '.') ++n;
  }
  ::closedir(d);
  return n - 1;  // the DIR's own descriptor
}

// open_fds() once it equals `want` (descriptors closed by the runtime in the background, e.g. an
// IORING_OP_CLOSE, go a little later), polling for up to about a second.
inline int settle_fds(int want) {
  int n = open_fds();
  for (int i = 0; i < 500 && n != want; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    n = open_fds();
  }
  return n;
}

// The backend the suite is registered for (EXECUTOR_BACKEND), to check it is really used.
inline std::string expected_backend() {
  const char* e = std::getenv("EXECUTOR_BACKEND");
  return e != nullptr && std::string(e) == "epoll" ? "epoll" : "io_uring";
}

// A scratch file path, removed by the destructor.
class TempPath {
 public:
  explicit TempPath(const char* tag) {
    const char* dir = std::getenv("TMPDIR");
    path_ = std::string(dir != nullptr ? dir : "/tmp") + "/executor_io_" + tag + "_" +
            std::to_string(::getpid()) + "_" + std::to_string(counter()++);
  }
  ~TempPath() { ::unlink(path_.c_str()); }
  const std::string& str() const { return path_; }

 private:
  static int& counter() {
    static int n = 0;
    return n;
  }
  std::string path_;
};

// Writes `data` to `path` synchronously (test setup).
inline void write_sync(const std::string& path, std::string_view data) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::write(fd, data.data(), data.size()), static_cast<ssize_t>(data.size()));
  ::close(fd);
}

// Cancels the spawned task `h` (abort_for_combinator: its frame is destroyed at its next
// scheduling point) and returns once that happened: true if the join reported TaskCancelled.
template <class T>
Task<bool> abort_and_join(JoinHandle<T> h) {
  h.abort_for_combinator();
  bool cancelled = false;
  try {
    (void)co_await std::move(h);
  } catch (const TaskCancelled&) {
    cancelled = true;
  }
  co_return cancelled;
}

// Cancels `token` after `d`; spawned, it cancels a wait of the spawning task.
inline Task<void> cancel_after(CancellationToken token, std::chrono::microseconds d) {
  co_await executor::sleep(d);
  token.cancel();
}

// Spawns `wait(object)`, a task waiting for the next result of `object`, and destroys it at once
// or after a yield (by `i`'s parity): before it suspends or while it is suspended.
template <class F, class A>
Task<void> destroy_waiter(F wait, A* object, int i) {
  auto h = spawn(wait, object);
  if (i % 2 == 0) co_await executor::yield_now();
  bool cancelled = co_await abort_and_join(std::move(h));
  EXPECT_TRUE(cancelled);
}

// Spawns `wait(object, token)`, a task waiting in a multishot next result with
// `.timeout(10ms).cancel_on(token)`, destroys it while it is suspended, then lets its deadline
// pass and cancels its token (first or last: `token_first`). Neither may reach the destroyed
// awaiter (ASan sees any use of the freed frame).
template <class F, class A>
Task<void> destroy_bounded_waiter(F wait, A* object, bool token_first) {
  using namespace std::chrono_literals;
  CancellationToken token;
  auto h = spawn(wait, object, token);
  co_await executor::sleep(2ms);  // the child is suspended by now
  bool cancelled = co_await abort_and_join(std::move(h));
  EXPECT_TRUE(cancelled);
  if (token_first) token.cancel();
  co_await executor::sleep(15ms);  // past the destroyed awaiter's deadline
  if (!token_first) token.cancel();
}

// A fresh wait for the next result of a multishot handle.
inline NextOperation next_result(Receiver* rx) {
  return rx->next();
}
inline AcceptNextOperation next_result(Acceptor* acc) {
  return acc->accept();
}

// Passes a result on; a bound that was hit must be kDeadlineExceeded or kCancelled, and counts.
template <class R>
R count_bound_hit(R r, int* hits) {
  if (!r.ok()) {
    absl::StatusCode code = r.status().code();
    EXPECT_TRUE(code == absl::StatusCode::kDeadlineExceeded || code == absl::StatusCode::kCancelled)
        << r.status();
    ++*hits;
  }
  return r;
}

// Blocks the calling (non-runtime) thread until `n` is positive, at most 10 s (then the test's
// own expectations report what went wrong). relaxed: a counter polled, no data published by it.
inline void wait_until_positive(const std::atomic<int>& n) {
  auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (n.load(std::memory_order_relaxed) <= 0 && std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

// One wait of a race between bounds and arriving results: the next result of `h`, bounded by a
// deadline (even `call`) or by a token cancelled (odd `call`) `d` from now.
template <class H>
Task<decltype(next_result(std::declval<H*>()).await_resume())> race_next(
    H* h, int call, std::chrono::microseconds d, int* hits) {
  if (call % 2 == 0) co_return count_bound_hit(co_await next_result(h).timeout(d), hits);
  CancellationToken token;
  JoinHandle<void> canceller = spawn(cancel_after, token, d);
  auto r = co_await next_result(h).cancel_on(token);
  co_await std::move(canceller);
  co_return count_bound_hit(std::move(r), hits);
}

}  // namespace executor::io::testing
