// executor::interval: the schedule, the three missed-tick policies, reset, and a tick() destroyed
// while suspended (it consumes no tick). Ticks are checked against their scheduled times (exact
// arithmetic on the schedule); elapsed times are only checked to be "not early".
#include <executor/executor.hpp>
#include <executor/interval.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <thread>
#include <vector>

namespace {

using namespace std::chrono_literals;
using executor::Clock;
using executor::Interval;
using executor::MissedTick;
using executor::Runtime;
using executor::Task;

TEST(Interval, TicksOnSchedule) {
  Runtime rt({.workers = 2});
  rt.block_on([]() -> Task<void> {
    Clock::time_point t0 = Clock::now();
    Interval iv = executor::interval(10ms);
    Clock::time_point first = co_await iv.tick();  // at once
    EXPECT_GE(first, t0);
    EXPECT_LT(Clock::now() - t0, 10ms * 100);  // not a whole schedule later (sanity)
    for (int k = 1; k <= 3; ++k) {
      Clock::time_point t = co_await iv.tick();
      EXPECT_EQ(t, first + k * 10ms);
      EXPECT_GE(Clock::now(), t);  // never early
    }
    // interval_at: the first tick at `start`.
    Clock::time_point start = Clock::now() + 15ms;
    Interval later = executor::interval_at(start, 5ms);
    Clock::time_point s = co_await later.tick();
    EXPECT_EQ(s, start);
    EXPECT_GE(Clock::now(), start);
  }());
}

// Blocks the worker synchronously (the task does not get to tick): `d` of missed ticks.
void stall(std::chrono::milliseconds d) {
  std::this_thread::sleep_for(d);
}

TEST(Interval, BurstCatchesUpWithoutShifting) {
  Runtime rt({.workers = 2});
  rt.block_on([]() -> Task<void> {
    Interval iv = executor::interval(10ms, MissedTick::kBurst);
    Clock::time_point t0 = co_await iv.tick();
    stall(45ms);  // ticks at +10, +20, +30, +40 are overdue
    for (int k = 1; k <= 4; ++k) {
      Clock::time_point t = co_await iv.tick();
      EXPECT_EQ(t, t0 + k * 10ms);
    }
    Clock::time_point t5 = co_await iv.tick();
    EXPECT_EQ(t5, t0 + 50ms);
  }());
}

TEST(Interval, DelayRestartsTheScheduleFromTheLateTick) {
  Runtime rt({.workers = 2});
  rt.block_on([]() -> Task<void> {
    Interval iv = executor::interval(10ms, MissedTick::kDelay);
    Clock::time_point t0 = co_await iv.tick();
    stall(35ms);
    Clock::time_point late = co_await iv.tick();  // the overdue tick, returned at once
    EXPECT_EQ(late, t0 + 10ms);
    Clock::time_point next = co_await iv.tick();
    EXPECT_GE(next, t0 + 45ms);  // `period` after the late call (>= t0 + 35ms), not t0 + 20ms
    EXPECT_GE(Clock::now(), next);
    Clock::time_point again = co_await iv.tick();
    EXPECT_GE(again, next + 10ms);  // then on the new schedule (later if this one was missed)
  }());
}

TEST(Interval, SkipDropsTheMissedTicks) {
  Runtime rt({.workers = 2});
  rt.block_on([]() -> Task<void> {
    Interval iv = executor::interval(10ms, MissedTick::kSkip);
    Clock::time_point t0 = co_await iv.tick();
    stall(35ms);
    Clock::time_point late = co_await iv.tick();  // the first overdue tick
    EXPECT_EQ(late, t0 + 10ms);
    Clock::time_point next = co_await iv.tick();
    // On the original schedule, past the ticks the stall covered (t0 + 20 and + 30 are dropped).
    EXPECT_EQ((next - t0) % 10ms, Clock::duration::zero());
    EXPECT_GE(next, t0 + 40ms);
    Clock::time_point again = co_await iv.tick();
    EXPECT_EQ((again - t0) % 10ms, Clock::duration::zero());
    EXPECT_GT(again, next);
  }());
}

TEST(Interval, ResetAndAccessors) {
  Runtime rt({.workers = 2});
  rt.block_on([]() -> Task<void> {
    Interval iv = executor::interval(20ms, MissedTick::kSkip);
    EXPECT_EQ(iv.period(), 20ms);
    EXPECT_EQ(iv.missed_tick(), MissedTick::kSkip);
    (void)co_await iv.tick();
    Clock::time_point before = Clock::now();
    iv.reset();
    EXPECT_GE(iv.next_tick(), before + 20ms);
    Clock::time_point t = co_await iv.tick();
    EXPECT_GE(t, before + 20ms);
    iv.set_missed_tick(MissedTick::kBurst);
    EXPECT_EQ(iv.missed_tick(), MissedTick::kBurst);
    // A period <= 0 does not hang or divide by zero: it ticks as fast as asked.
    Interval fast = executor::interval(0ms, MissedTick::kSkip);
    for (int i = 0; i < 100; ++i) (void)co_await fast.tick();
  }());
}

TEST(Interval, TickDestroyedWhileSuspendedConsumesNoTick) {
  Runtime rt({.workers = 2});
  rt.block_on([]() -> Task<void> {
    Interval iv = executor::interval(30ms);
    Clock::time_point t0 = co_await iv.tick();
    // The child waiting in tick() is destroyed at the deadline (its timer disarmed).
    absl::StatusOr<Clock::time_point> r = co_await executor::timeout(5ms, iv.tick());
    EXPECT_EQ(r.status().code(), absl::StatusCode::kDeadlineExceeded);
    Clock::time_point t1 = co_await iv.tick();
    EXPECT_EQ(t1, t0 + 30ms);  // the same tick, not skipped
  }());
}

}  // namespace
