// Timers under concurrency (run under TSan): sleeps armed from two workers while the completion
// thread and busy workers fire them, and sleeps destroyed while suspended (the losers of
// timeout() and when_any) exactly when their timers come due, so that the lock-free "already
// fired" check in timer_cancel races the firing. Bounded by iteration counts, not time.
#include <executor/executor.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <vector>

namespace {

using namespace std::chrono_literals;
using executor::Clock;
using executor::JoinHandle;
using executor::Runtime;
using executor::Task;

TEST(TimerStress, SleepsNeverWakeEarly) {
  Runtime rt({.workers = 2});
  auto body = []() -> Task<int> {
    std::vector<JoinHandle<int>> hs;
    for (int i = 0; i < 2'000; ++i) {
      hs.push_back(executor::spawn(
          [](int i) -> Task<int> {
            int early = 0;
            for (int k = 0; k < 3; ++k) {
              auto d = std::chrono::microseconds(50 * ((i + k) % 7));
              auto deadline = Clock::now() + d;
              co_await executor::sleep_until(deadline);
              if (Clock::now() < deadline) ++early;
            }
            co_return early;
          },
          i));
    }
    int early = 0;
    for (auto& h : hs) early += co_await h.join();
    co_return early;
  };
  EXPECT_EQ(rt.block_on(body()), 0);
}

TEST(TimerStress, BusyWorkersFireTimersToo) {
  // Tasks that yield in a loop keep both workers ticking, so due timers are fired by workers
  // (Reactor::fire_due_timers) as well as by the completion thread, racing each other and the
  // sleepers' own cancels. No sleep may wake early, and every one must wake.
  Runtime rt({.workers = 2});
  auto body = []() -> Task<int> {
    std::vector<JoinHandle<int>> hs;
    for (int i = 0; i < 4; ++i) {
      hs.push_back(executor::spawn([]() -> Task<int> {
        for (int k = 0; k < 20'000; ++k) co_await executor::yield_now();
        co_return 0;
      }));
    }
    for (int i = 0; i < 1'000; ++i) {
      hs.push_back(executor::spawn(
          [](int i) -> Task<int> {
            auto deadline = Clock::now() + std::chrono::microseconds(40 * (i % 6));
            co_await executor::sleep_until(deadline);
            co_return Clock::now() < deadline ? 1 : 0;
          },
          i));
    }
    int early = 0;
    for (auto& h : hs) early += co_await h.join();
    co_return early;
  };
  EXPECT_EQ(rt.block_on(body()), 0);
}

TEST(TimerStress, CancelRacesFiring) {
  Runtime rt({.workers = 2});
  std::atomic<int> timed_out{0};
  std::atomic<int> completed{0};
  auto body = [&]() -> Task<void> {
    std::vector<JoinHandle<void>> hs;
    for (int i = 0; i < 200; ++i) {
      hs.push_back(executor::spawn(
          [&](int i) -> Task<void> {
            for (int k = 0; k < 10; ++k) {
              // The timeout's timer and the child's sleep come due in the same or adjacent
              // ticks: either may win, and the loser's timer is cancelled while it may be firing.
              auto d = std::chrono::microseconds(100 + 30 * ((i + k) % 5));
              absl::Status s = co_await executor::timeout(
                  std::chrono::microseconds(100 + 30 * ((i + 2 * k) % 5)), executor::sleep(d));
              if (s.ok()) {
                completed.fetch_add(1, std::memory_order_relaxed);
              } else {
                EXPECT_TRUE(absl::IsDeadlineExceeded(s));
                timed_out.fetch_add(1, std::memory_order_relaxed);
              }
            }
          },
          i));
    }
    for (auto& h : hs) co_await h.join();
  };
  rt.block_on(body());
  EXPECT_EQ(timed_out.load() + completed.load(), 2'000);
}

TEST(TimerStress, DroppedSleepersAreDisarmed) {
  // when_any's losing sleep is destroyed while armed; its timer must never fire afterwards
  // (that would touch a destroyed frame: ASan/TSan catch it) and the runtime ends clean.
  Runtime rt({.workers = 2});
  auto body = []() -> Task<int> {
    std::vector<JoinHandle<int>> hs;
    for (int i = 0; i < 500; ++i) {
      hs.push_back(executor::spawn(
          [](int i) -> Task<int> {
            auto r =
                co_await executor::when_any(executor::sleep(std::chrono::microseconds(i % 3)),
                                            executor::sleep(1h + std::chrono::microseconds(i)));
            co_return static_cast<int>(r.index());
          },
          i));
    }
    int second = 0;
    for (auto& h : hs) second += co_await h.join();
    co_return second;
  };
  EXPECT_EQ(rt.block_on(body()), 0);
}

}  // namespace
