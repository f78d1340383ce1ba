// Firmware test: a waiter destroyed while its node is on a waker list (an interrupt line's list
// or SysTick's timer queue) unlinks itself; the list stays intact for the other waiters and the
// interrupt that follows touches no freed frame.
#include <cstdint>

#include <executor/cortexm/clock.hpp>
#include <executor/cortexm/executor.hpp>
#include <executor/cortexm/irq.hpp>
#include <executor/cortexm/sleep.hpp>
#include <executor/join_handle.hpp>
#include <executor/task.hpp>
#include <executor/yield.hpp>

#include "test_support.hpp"

namespace {

using executor::JoinHandle;
using executor::Task;
namespace cm = executor::cortexm;
using Ticks = cm::TickClock::duration;

constexpr unsigned kIrq = 29;
int g_woken[8];
int g_nwoken = 0;

Task<void> irq_waiter(int id) {
  co_await cm::wait_irq(kIrq);
  g_woken[g_nwoken++] = id;
}

Task<void> sleeper(int id, std::int64_t ticks) {
  co_await cm::sleep(Ticks(ticks));
  g_woken[g_nwoken++] = id;
}

JoinHandle<void> spawn(Task<void> t) {
  auto r = cm::try_spawn(std::move(t));
  CHECK(r);
  return std::move(r.handle);
}

Task<void> cancel_on_irq_list() {
  g_nwoken = 0;
  JoinHandle<void> h[4] = {spawn(irq_waiter(1)), spawn(irq_waiter(2)), spawn(irq_waiter(3)),
                           spawn(irq_waiter(4))};
  co_await executor::yield_now();
  CHECK_EQ(cm::irq_wakers(kIrq).size(), 4u);
  // Cancel the head, a middle node and the tail: their frames are destroyed by the loop.
  h[0].abort_for_combinator();
  h[2].abort_for_combinator();
  h[3].abort_for_combinator();
  co_await executor::yield_now();
  CHECK(h[0].is_finished() && h[2].is_finished() && h[3].is_finished());
  CHECK_EQ(cm::irq_wakers(kIrq).size(), 1u);
  cm::pend_irq(kIrq);
  co_await std::move(h[1]);
  CHECK_EQ(g_nwoken, 1);
  CHECK_EQ(g_woken[0], 2);
}

Task<void> cancel_in_timer_queue() {
  g_nwoken = 0;
  JoinHandle<void> h[3] = {spawn(sleeper(1, 3)), spawn(sleeper(2, 3)), spawn(sleeper(3, 5))};
  co_await executor::yield_now();
  CHECK_EQ(cm::internal::timers_queued(), 3u);
  h[1].abort_for_combinator();
  h[2].abort_for_combinator();
  co_await executor::yield_now();
  CHECK_EQ(cm::internal::timers_queued(), 1u);
  co_await cm::sleep(Ticks(10));  // well past every deadline
  CHECK(h[0].is_finished());
  CHECK_EQ(g_nwoken, 1);
  CHECK_EQ(g_woken[0], 1);
}

}  // namespace

int main() {
  auto& ex = cm::executor();
  ex.block_on(cancel_on_irq_list());
  CHECK_CLEAN();
  CHECK(cm::irq_wakers(kIrq).empty());
  test::pass("cancelled IRQ waiters unlink themselves; the survivor still wakes");
  ex.block_on(cancel_in_timer_queue());
  CHECK_CLEAN();
  CHECK_EQ(cm::internal::timers_queued(), 0u);
  test::pass("cancelled sleepers leave the timer queue");

  // Shutdown cancels everything still waiting, wherever it waits.
  JoinHandle<void> a = spawn(irq_waiter(5));
  JoinHandle<void> b = spawn(sleeper(6, 1000));
  ex.run_ready();
  CHECK_EQ(ex.live_tasks(), 2u);
  ex.shutdown();
  CHECK(a.is_finished() && b.is_finished());
  a.detach();
  b.detach();
  CHECK_CLEAN();
  CHECK(cm::irq_wakers(kIrq).empty());
  CHECK_EQ(cm::internal::timers_queued(), 0u);
  cm::pend_irq(kIrq);  // an interrupt after the shutdown finds an empty list
  CHECK_EQ(ex.run_ready(), 0u);
  test::pass("shutdown unlinks every waiter");
  test::report_resources();
  return 0;
}
