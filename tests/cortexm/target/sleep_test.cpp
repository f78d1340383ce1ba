// Firmware test: tasks sleeping on SysTick wake in deadline order, each at exactly its tick.
// Run under QEMU with -icount, so tick arithmetic is exact and every run is identical.
#include <cstdint>

#include <executor/cortexm/clock.hpp>
#include <executor/cortexm/executor.hpp>
#include <executor/cortexm/sleep.hpp>
#include <executor/join_handle.hpp>
#include <executor/task.hpp>

#include "test_support.hpp"

namespace {

using executor::JoinHandle;
using executor::Task;
using executor::cortexm::TickClock;
namespace cm = executor::cortexm;
using Ticks = TickClock::duration;

struct Wake {
  int id;
  std::int64_t tick;
};
Wake g_wakes[16];
int g_nwakes = 0;

std::int64_t ticks_now() {
  return TickClock::now().time_since_epoch().count();
}

Task<void> sleeper(int id, TickClock::time_point deadline) {
  co_await cm::sleep_until(deadline);
  g_wakes[g_nwakes++] = {id, ticks_now()};
}

// Five tasks with deadlines out of order (two equal): they wake sorted by deadline, equal
// deadlines in spawn order, each in the tick its deadline names.
Task<void> wake_order() {
  g_nwakes = 0;
  const auto t0 = TickClock::now();
  const int delays[] = {30, 10, 20, 10, 0};
  JoinHandle<void> handles[5];
  for (int i = 0; i < 5; ++i) {
    auto r = cm::try_spawn(sleeper(i + 1, t0 + Ticks(delays[i])));
    CHECK(r);
    handles[i] = std::move(r.handle);
  }
  for (auto& h : handles) co_await std::move(h);
  const std::int64_t base = t0.time_since_epoch().count();
  const Wake expected[] = {
      {5, base}, {2, base + 10}, {4, base + 10}, {3, base + 20}, {1, base + 30}};
  CHECK_EQ(g_nwakes, 5);
  for (int i = 0; i < 5; ++i) {
    CHECK_EQ(g_wakes[i].id, expected[i].id);
    CHECK_EQ(g_wakes[i].tick, expected[i].tick);
  }
}

// Relative sleeps are never early in ticks, and sleep(0) does not suspend at all.
Task<void> relative_sleep() {
  const std::int64_t a = ticks_now();
  co_await cm::sleep(Ticks(0));
  CHECK_EQ(ticks_now(), a);
  co_await cm::sleep(Ticks(5));
  const std::int64_t b = ticks_now();
  CHECK(b - a >= 5);
  CHECK(b - a <= 6);
  co_await cm::sleep(std::chrono::microseconds(2500));  // rounds up to 3 ticks at 1 kHz
  CHECK(ticks_now() - b >= 3);
}

// A periodic task on sleep_until does not drift: every wake is exactly one period later.
Task<void> periodic() {
  auto next = TickClock::now();
  const std::int64_t start = next.time_since_epoch().count();
  for (int i = 1; i <= 8; ++i) {
    next += Ticks(7);
    co_await cm::sleep_until(next);
    CHECK_EQ(ticks_now(), start + 7 * i);
  }
}

}  // namespace

int main() {
  auto& ex = cm::executor();
  ex.block_on(wake_order());
  CHECK_CLEAN();
  test::pass("sleepers wake in deadline order at their tick");
  ex.block_on(relative_sleep());
  CHECK_CLEAN();
  test::pass("relative sleep is never early; sleep(0) does not suspend");
  ex.block_on(periodic());
  CHECK_CLEAN();
  CHECK_EQ(cm::internal::timers_queued(), 0u);
  test::pass("periodic sleep_until does not drift");
  test::report_resources();
  return 0;
}
