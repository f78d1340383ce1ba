// run_until_cancelled: value, cancellation (child released), already-cancelled token, errors,
// the awaiting frame destroyed mid-wait, and cancel racing completion (tsan).
#include <executor/run_until_cancelled.hpp>

#include <executor/executor.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <thread>

namespace {

using namespace std::chrono_literals;
using executor::CancellationToken;
using executor::JoinHandle;
using executor::Runtime;
using executor::Task;

#if defined(EXECUTOR_SANITIZER_BUILD)
constexpr int kScale = 5;
#else
constexpr int kScale = 1;
#endif

std::size_t listeners(const CancellationToken& t) {
  return executor::detail::cancel_state_listeners(t.state_for_internal_use());
}

Task<int> slow_value(std::chrono::milliseconds d, int v) {
  co_await executor::sleep(d);
  co_return v;
}

TEST(RunUntilCancelled, AwaitingFrameDestroyedMidWaitWithdrawsAndDetachesTheChild) {
  Runtime rt({.workers = 2});
  CancellationToken token;
  auto finished = std::make_shared<std::atomic<int>>(0);
  auto child = [](std::shared_ptr<std::atomic<int>> f) -> Task<void> {
    co_await executor::sleep(20ms);
    f->store(1);
  };
  auto outer = [](CancellationToken t, Task<void> c) -> Task<void> {
    (void)co_await executor::run_until_cancelled(t, std::move(c));
  };
  auto body = [&]() -> Task<void> {
    auto h = executor::spawn(outer(token, child(finished)));
    while (listeners(token) == 0) co_await executor::yield_now();
    h.abort_for_combinator();
    try {
      co_await std::move(h);
    } catch (const executor::TaskCancelled&) {
    }
    EXPECT_EQ(listeners(token), 0u);
    co_await executor::sleep(60ms);
  };
  rt.block_on(body());
  EXPECT_EQ(finished->load(), 1);  // the child ran on, detached
  token.cancel();
}

TEST(RunUntilCancelled, ValueArrivesFirst) {
  Runtime rt({.workers = 2});
  CancellationToken token;
  auto body = [](CancellationToken t) -> Task<int> {
    absl::StatusOr<int> r = co_await executor::run_until_cancelled(t, slow_value(1ms, 7));
    co_return r.ok() ? *r : -1;
  };
  EXPECT_EQ(rt.block_on(body(token)), 7);
  EXPECT_EQ(listeners(token), 0u);
}

TEST(RunUntilCancelled, CancelEndsTheAwaitableAndReleasesIt) {
  Runtime rt({.workers = 2});
  CancellationToken token;
  auto resource = std::make_shared<int>(1);
  auto holder = [](std::shared_ptr<int> r) -> Task<int> {
    co_await executor::sleep(10s);
    co_return *r;
  };
  std::thread canceller([token]() mutable {
    std::this_thread::sleep_for(10ms);
    token.cancel();
  });
  auto body = [&]() -> Task<absl::Status> {
    auto start = executor::Clock::now();
    absl::StatusOr<int> r = co_await executor::run_until_cancelled(token, holder(resource));
    EXPECT_LT(executor::Clock::now() - start, 5s);
    EXPECT_EQ(resource.use_count(), 1);  // the child's frame is gone before we continue
    co_return r.status();
  };
  absl::Status s = rt.block_on(body());
  canceller.join();
  EXPECT_TRUE(absl::IsCancelled(s)) << s;
  EXPECT_NE(s.message().find("run_until_cancelled"), std::string_view::npos);
}

TEST(RunUntilCancelled, AlreadyCancelledDoesNotStartTheAwaitable) {
  Runtime rt({.workers = 2});
  CancellationToken token;
  token.cancel();
  auto started = std::make_shared<std::atomic<int>>(0);
  auto work = [](std::shared_ptr<std::atomic<int>> s) -> Task<void> {
    s->store(1);
    co_return;
  };
  auto body = [&]() -> Task<absl::Status> {
    co_return co_await executor::run_until_cancelled(token, work(started));
  };
  EXPECT_TRUE(absl::IsCancelled(rt.block_on(body())));
  EXPECT_EQ(started->load(), 0);
}

TEST(RunUntilCancelled, VoidAndGenericAwaitables) {
  Runtime rt({.workers = 2});
  auto body = []() -> Task<bool> {
    CancellationToken never;
    CancellationToken soon;
    absl::Status a = co_await executor::run_until_cancelled(never, executor::sleep(1ms));
    auto h = executor::spawn(
        [](CancellationToken t) -> Task<void> {
          co_await executor::sleep(5ms);
          t.cancel();
        },
        soon);
    absl::Status b = co_await executor::run_until_cancelled(soon, executor::sleep(10s));
    co_await std::move(h);
    co_return a.ok() && absl::IsCancelled(b);
  };
  EXPECT_TRUE(rt.block_on(body()));
}

TEST(RunUntilCancelled, ExceptionsPropagateIncludingNonStd) {
  Runtime rt({.workers = 2});
  CancellationToken token;
  auto body = [](CancellationToken t) -> Task<int> {
    auto std_thrower = []() -> Task<int> {
      co_await executor::yield_now();
      throw std::out_of_range("inner");
    };
    auto int_thrower = []() -> Task<int> {
      co_await executor::yield_now();
      throw 42;
    };
    int caught = 0;
    try {
      (void)co_await executor::run_until_cancelled(t, std_thrower());
    } catch (const std::out_of_range&) {
      caught += 1;
    }
    try {
      (void)co_await executor::run_until_cancelled(t, int_thrower());
    } catch (int v) {
      caught += v;
    }
    co_return caught;
  };
  EXPECT_EQ(rt.block_on(body(token)), 43);
}

TEST(RunUntilCancelled, CancelRacingCompletionNeverLosesAResult) {
  Runtime rt({.workers = 2});
  int values = 0;
  int cancels = 0;
  for (int i = 0; i < 400 / kScale; ++i) {
    CancellationToken token;
    auto quick = []() -> Task<int> {
      co_await executor::yield_now();
      co_return 5;
    };
    std::thread canceller([&] { token.cancel(); });
    auto body = [&]() -> Task<absl::StatusOr<int>> {
      co_return co_await executor::run_until_cancelled(token, quick());
    };
    absl::StatusOr<int> r = rt.block_on(body());
    canceller.join();
    if (r.ok()) {
      EXPECT_EQ(*r, 5);
      ++values;
    } else {
      EXPECT_TRUE(absl::IsCancelled(r.status())) << r.status();
      ++cancels;
    }
    EXPECT_EQ(listeners(token), 0u);
  }
  EXPECT_EQ(values + cancels, 400 / kScale);
}

}  // namespace
