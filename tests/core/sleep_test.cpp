// sleep / sleep_until / yield_now / timeout.
#include <executor/executor.hpp>

#include <gtest/gtest.h>

#include <absl/status/status.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <limits>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <vector>

namespace {

using namespace std::chrono_literals;
using executor::Clock;
using executor::JoinHandle;
using executor::Runtime;
using executor::Task;

TEST(Sleep, NeverWakesEarly) {
  Runtime rt({.workers = 2});
  auto body = []() -> Task<bool> {
    for (auto d : {1ms, 5ms, 20ms}) {
      auto start = Clock::now();
      co_await executor::sleep(d);
      if (Clock::now() - start < d) co_return false;
    }
    co_return true;
  };
  EXPECT_TRUE(rt.block_on(body()));
}

// sleep(d) reads the clock once: a positive d always suspends (no second read in await_ready),
// a zero or negative one is ready at once; sleep_until compares with the clock.
TEST(Sleep, ReadyOnlyForPastDeadlines) {
  EXPECT_TRUE(executor::sleep(0ms).await_ready());
  EXPECT_TRUE(executor::sleep(-5ms).await_ready());
  EXPECT_FALSE(executor::sleep(1ns).await_ready());
  EXPECT_FALSE(executor::sleep(1h).await_ready());
  EXPECT_TRUE(executor::sleep_until(Clock::now()).await_ready());
  EXPECT_TRUE(executor::sleep_until(Clock::now() - 1s).await_ready());
  EXPECT_FALSE(executor::sleep_until(Clock::now() + 1h).await_ready());
  // Moving keeps what the awaiter knows.
  executor::SleepAwaiter a = executor::sleep(1h);
  executor::SleepAwaiter b(std::move(a));
  EXPECT_FALSE(b.await_ready());
}

// Tiny positive sleeps suspend even if their deadline passes before the timer is armed; they
// still never wake before it.
TEST(Sleep, TinySleepsNeverWakeEarly) {
  Runtime rt({.workers = 2});
  auto body = []() -> Task<bool> {
    for (int i = 0; i < 200; ++i) {
      auto d = std::chrono::nanoseconds(1 + (i % 4) * 500);
      auto start = Clock::now();
      co_await executor::sleep(d);
      if (Clock::now() - start < d) co_return false;
    }
    co_return true;
  };
  EXPECT_TRUE(rt.block_on(body()));
}

TEST(Sleep, PastDeadlineCompletesImmediately) {
  Runtime rt({.workers = 1});
  auto body = []() -> Task<void> {
    co_await executor::sleep_until(Clock::now() - 1s);
    co_await executor::sleep(0ms);
    co_await executor::sleep(-5ms);
  };
  rt.block_on(body());
}

TEST(Sleep, WakesInDeadlineOrder) {
  Runtime rt({.workers = 2});
  struct Log {
    std::mutex mu;
    std::vector<int> order;
  };
  auto log = std::make_shared<Log>();
  auto sleeper = [](std::shared_ptr<Log> log, int ms) -> Task<void> {
    co_await executor::sleep(std::chrono::milliseconds(ms));
    std::lock_guard lock(log->mu);
    log->order.push_back(ms);
  };
  auto body = [&]() -> Task<void> {
    std::vector<JoinHandle<void>> hs;
    for (int ms : {60, 10, 40, 20, 50, 30}) hs.push_back(executor::spawn(sleeper, log, ms));
    for (auto& h : hs) co_await h.join();
  };
  rt.block_on(body());
  EXPECT_EQ(log->order, (std::vector<int>{10, 20, 30, 40, 50, 60}));
}

TEST(Sleep, ManyConcurrentSleepers) {
  Runtime rt({.workers = 2});
  auto body = []() -> Task<int> {
    std::vector<JoinHandle<int>> hs;
    for (int i = 0; i < 10'000; ++i) {
      hs.push_back(executor::spawn(
          [](int i) -> Task<int> {
            auto start = Clock::now();
            co_await executor::sleep(std::chrono::milliseconds(1 + i % 10));
            co_return Clock::now() - start >= std::chrono::milliseconds(1 + i % 10) ? 1 : 0;
          },
          i));
    }
    int ok = 0;
    for (auto& h : hs) ok += co_await h.join();
    co_return ok;
  };
  EXPECT_EQ(rt.block_on(body()), 10'000);
}

// Durations too large to add to now saturate: such a sleep never ends (an outer deadline ends
// it), such a timeout never fires. Before, now + d overflowed and both expired at once.
TEST(Sleep, HugeDurationsSaturate) {
  Runtime rt({.workers = 2});
  auto body = []() -> Task<void> {
    auto sleeps_forever = [](auto d) -> Task<bool> {
      auto r = co_await executor::timeout(30ms, executor::sleep(d));
      co_return r.code() == absl::StatusCode::kDeadlineExceeded;
    };
    EXPECT_TRUE(co_await sleeps_forever(std::chrono::hours::max()));
    EXPECT_TRUE(co_await sleeps_forever(std::chrono::seconds::max()));
    EXPECT_TRUE(co_await sleeps_forever(std::chrono::nanoseconds::max()));
    EXPECT_TRUE(co_await sleeps_forever(std::chrono::duration<double>(1e300)));
    EXPECT_TRUE(co_await sleeps_forever(
        std::chrono::duration<int, std::ratio<3600 * 24 * 365>>(std::numeric_limits<int>::max())));
    EXPECT_TRUE((co_await executor::timeout(std::chrono::hours::max(), executor::sleep(5ms))).ok());
    EXPECT_TRUE(
        (co_await executor::timeout(std::chrono::nanoseconds::max(), executor::sleep(5ms))).ok());
    EXPECT_TRUE(
        (co_await executor::timeout(std::chrono::seconds::max(), executor::sleep(5ms))).ok());
    // The other extreme: expires at once.
    auto t0 = Clock::now();
    auto r = co_await executor::timeout(std::chrono::hours::min(), executor::sleep(10s));
    EXPECT_EQ(r.code(), absl::StatusCode::kDeadlineExceeded);
    EXPECT_LT(Clock::now() - t0, 5s);
    co_await executor::sleep(std::chrono::hours::min());  // ready at once
  };
  rt.block_on(body());
}

TEST(Yield, OtherTasksRunInBetween) {
  Runtime rt({.workers = 1});  // one worker: yielding is the only way the other task runs
  auto body = []() -> Task<int> {
    auto flag = std::make_shared<std::atomic<int>>(0);
    auto h = executor::spawn(
        [](std::shared_ptr<std::atomic<int>> f) -> Task<void> {
          f->store(1);
          co_return;
        },
        flag);
    int spins = 0;
    while (flag->load() == 0 && spins < 1000) {
      co_await executor::yield_now();
      ++spins;
    }
    co_await std::move(h);
    co_return flag->load();
  };
  EXPECT_EQ(rt.block_on(body()), 1);
}

Task<int> slow_value(std::chrono::milliseconds d, int v) {
  co_await executor::sleep(d);
  co_return v;
}

TEST(Timeout, ValueArrivesInTime) {
  Runtime rt({.workers = 2});
  auto body = []() -> Task<int> {
    absl::StatusOr<int> r = co_await executor::timeout(1s, slow_value(5ms, 7));
    co_return r.ok() ? *r : -1;
  };
  EXPECT_EQ(rt.block_on(body()), 7);
}

TEST(Timeout, DeadlinePassesFirst) {
  Runtime rt({.workers = 2});
  auto body = []() -> Task<absl::StatusCode> {
    auto start = Clock::now();
    absl::StatusOr<int> r = co_await executor::timeout(20ms, slow_value(10s, 7));
    if (Clock::now() - start > 5s) co_return absl::StatusCode::kUnknown;  // waited for the child
    co_return r.status().code();
  };
  EXPECT_EQ(rt.block_on(body()), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(rt.live_tasks() <= 1, true);  // the cancelled child is gone
}

TEST(Timeout, VoidForm) {
  Runtime rt({.workers = 2});
  auto body = []() -> Task<bool> {
    auto quick = []() -> Task<void> {
      co_await executor::sleep(1ms);
    };
    auto slow = []() -> Task<void> {
      co_await executor::sleep(10s);
    };
    absl::Status a = co_await executor::timeout(1s, quick());
    absl::Status b = co_await executor::timeout(10ms, slow());
    co_return a.ok() && absl::IsDeadlineExceeded(b);
  };
  EXPECT_TRUE(rt.block_on(body()));
}

TEST(Timeout, ExceptionPropagates) {
  Runtime rt({.workers = 2});
  auto body = []() -> Task<void> {
    auto thrower = []() -> Task<int> {
      co_await executor::sleep(1ms);
      throw std::out_of_range("inner");
    };
    (void)co_await executor::timeout(1s, thrower());
  };
  EXPECT_THROW(rt.block_on(body()), std::out_of_range);
}

TEST(Timeout, GenericAwaitable) {
  Runtime rt({.workers = 2});
  auto body = []() -> Task<bool> {
    absl::Status s = co_await executor::timeout(10ms, executor::sleep(10s));
    absl::Status t = co_await executor::timeout(1s, executor::sleep(1ms));
    co_return absl::IsDeadlineExceeded(s) && t.ok();
  };
  EXPECT_TRUE(rt.block_on(body()));
}

TEST(Timeout, CancelledChildReleasesItsResources) {
  Runtime rt({.workers = 2});
  auto resource = std::make_shared<int>(1);
  auto holder = [](std::shared_ptr<int> r) -> Task<void> {
    co_await executor::sleep(10s);
    (void)r;
  };
  auto body = [&]() -> Task<void> {
    (void)co_await executor::timeout(5ms, holder(resource));
  };
  rt.block_on(body());
  EXPECT_EQ(resource.use_count(), 1);  // the child's frame (and its copy) is destroyed
}

}  // namespace
