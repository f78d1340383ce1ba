// Host tests of SysTick sleeping: deadline order, exact ticks, coalesced ticks, cancellation of
// a sleeping task, and block_on driving the tick through WFI.
#include <gtest/gtest.h>

#include <chrono>
#include <utility>
#include <vector>

#include <executor/cortexm/clock.hpp>
#include <executor/cortexm/executor.hpp>
#include <executor/cortexm/sleep.hpp>
#include <executor/join_handle.hpp>
#include <executor/task.hpp>

#include "fixture.hpp"
#include "sim_port.hpp"

namespace {

using cortexm_test::CortexM;
using cortexm_test::ticks;
using executor::JoinHandle;
using executor::Task;
namespace cm = executor::cortexm;
using Ticks = cm::TickClock::duration;

struct Wake {
  int id;
  std::int64_t tick;
  bool operator==(const Wake&) const = default;
};

Task<void> sleeper(int id, std::int64_t delay, std::vector<Wake>* log) {
  co_await cm::sleep(Ticks(delay));
  log->push_back({id, ticks()});
}

JoinHandle<void> spawn_sleeper(int id, std::int64_t delay, std::vector<Wake>* log) {
  auto r = cm::try_spawn(sleeper(id, delay, log));
  EXPECT_TRUE(r);
  return std::move(r.handle);
}

TEST_F(CortexM, SleepersWakeInDeadlineOrderAtTheirTick) {
  std::vector<Wake> log;
  std::vector<JoinHandle<void>> hs;
  hs.push_back(spawn_sleeper(1, 3, &log));
  hs.push_back(spawn_sleeper(2, 1, &log));
  hs.push_back(spawn_sleeper(3, 2, &log));
  hs.push_back(spawn_sleeper(4, 1, &log));
  cm::executor().run_ready();
  EXPECT_EQ(cm::internal::timers_queued(), 4u);
  for (int t = 1; t <= 3; ++t) {
    sim::tick();
    cm::executor().run_ready();
  }
  EXPECT_EQ(log, (std::vector<Wake>{{2, 1}, {4, 1}, {3, 2}, {1, 3}}));
  EXPECT_EQ(cm::internal::timers_queued(), 0u);
}

TEST_F(CortexM, SleepZeroAndPastDeadlinesDoNotSuspend) {
  std::vector<Wake> log;
  auto h = spawn_sleeper(1, 0, &log);
  auto g = spawn_sleeper(2, -5, &log);
  EXPECT_EQ(cm::executor().run_ready(), 2u);
  EXPECT_EQ(log, (std::vector<Wake>{{1, 0}, {2, 0}}));
  EXPECT_EQ(cm::internal::timers_queued(), 0u);
}

TEST_F(CortexM, SleepRoundsSubTickDurationsUp) {
  std::vector<Wake> log;
  auto body = [](std::vector<Wake>* log) -> Task<void> {
    co_await cm::sleep(std::chrono::microseconds(1500));  // 2 ticks at 1 kHz
    log->push_back({0, ticks()});
  };
  auto r = cm::try_spawn(body, &log);
  ASSERT_TRUE(r);
  cm::executor().run_ready();
  sim::tick();
  cm::executor().run_ready();
  EXPECT_TRUE(log.empty());
  sim::tick();
  cm::executor().run_ready();
  EXPECT_EQ(log, (std::vector<Wake>{{0, 2}}));
}

// Ticks raised while interrupts are masked share one pending bit, as on the hardware: a task
// that keeps interrupts masked for longer than a tick period loses ticks (docs/cortexm.md).
Task<void> long_run() {
  sim::tick(3);
  co_return;
}

TEST_F(CortexM, TicksRaisedWhileMaskedCoalesce) {
  auto r = cm::try_spawn(long_run());
  ASSERT_TRUE(r);
  cm::executor().run_ready();
  EXPECT_EQ(ticks(), 1);
}

// Cancelling a sleeping task unlinks its timer node; the neighbours keep their order and the
// tick that would have woken it finds nothing stale.
TEST_F(CortexM, CancellingASleeperUnlinksItsTimer) {
  std::vector<Wake> log;
  auto a = spawn_sleeper(1, 2, &log);
  auto b = spawn_sleeper(2, 2, &log);
  auto c = spawn_sleeper(3, 2, &log);
  cm::executor().run_ready();
  ASSERT_EQ(cm::internal::timers_queued(), 3u);
  b.abort_for_combinator();
  cm::executor().run_ready();
  EXPECT_EQ(cm::internal::timers_queued(), 2u);
  sim::tick(2);
  cm::executor().run_ready();
  EXPECT_EQ(log, (std::vector<Wake>{{1, 2}, {3, 2}}));
}

// block_on with only sleepers: the loop WFIs; each WFI is ended by the next tick.
TEST_F(CortexM, BlockOnSleepsThroughWfiUntilTheDeadline) {
  sim::set_idle_hook([] { sim::tick(); });
  auto body = []() -> Task<std::int64_t> {
    std::int64_t start = ticks();
    co_await cm::sleep(Ticks(25));
    co_return ticks() - start;
  };
  EXPECT_EQ(cm::executor().block_on(body()), 25);
  EXPECT_GE(sim::wfi_count(), 25u);
}

// A periodic loop on sleep_until stays on its grid.
TEST_F(CortexM, PeriodicSleepUntilDoesNotDrift) {
  sim::set_idle_hook([] { sim::tick(); });
  auto body = []() -> Task<bool> {
    auto next = cm::TickClock::now();
    for (int i = 0; i < 10; ++i) {
      next += Ticks(3);
      co_await cm::sleep_until(next);
      if (cm::TickClock::now() != next) co_return false;
    }
    co_return true;
  };
  EXPECT_TRUE(cm::executor().block_on(body()));
}

TEST_F(CortexM, ImpossibleTickRateIsAFatalError) {
  EXPECT_DEATH(cm::start_tick(1), "reload must fit 24 bits");
}

}  // namespace
