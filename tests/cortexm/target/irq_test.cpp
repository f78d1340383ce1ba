// Firmware test: software-triggered interrupts (NVIC pending bits) wake exactly the tasks on
// their own line's waker list, in arrival order, through the real vector table and handlers.
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

constexpr unsigned kIrqA = 30;  // lines no mps2-an385 device drives
constexpr unsigned kIrqB = 31;

int g_log[32];
int g_nlog = 0;

void log_event(int v) {
  g_log[g_nlog++] = v;
}

Task<void> waiter(unsigned irq, int id, int rounds) {
  for (int i = 0; i < rounds; ++i) {
    co_await cm::wait_irq(irq);
    log_event(id);
  }
}

JoinHandle<void> spawn(Task<void> t) {
  auto r = cm::try_spawn(std::move(t));
  CHECK(r);
  return std::move(r.handle);
}

// Three waiters on A and two on B: pending B wakes only B's, in order; then A's.
Task<void> per_line() {
  g_nlog = 0;
  JoinHandle<void> h[5] = {spawn(waiter(kIrqA, 1, 1)), spawn(waiter(kIrqB, 10, 1)),
                           spawn(waiter(kIrqA, 2, 1)), spawn(waiter(kIrqA, 3, 1)),
                           spawn(waiter(kIrqB, 11, 1))};
  co_await executor::yield_now();  // let all five run up to their wait
  CHECK_EQ(cm::irq_wakers(kIrqA).size(), 3u);
  CHECK_EQ(cm::irq_wakers(kIrqB).size(), 2u);
  cm::pend_irq(kIrqB);  // taken at the loop's next window, after this run
  co_await std::move(h[1]);
  co_await std::move(h[4]);
  CHECK_EQ(g_nlog, 2);
  CHECK_EQ(g_log[0], 10);
  CHECK_EQ(g_log[1], 11);
  CHECK_EQ(cm::irq_wakers(kIrqA).size(), 3u);
  cm::pend_irq(kIrqA);
  for (int i : {0, 2, 3}) co_await std::move(h[i]);
  const int expected[] = {10, 11, 1, 2, 3};
  CHECK_EQ(g_nlog, 5);
  for (int i = 0; i < 5; ++i) CHECK_EQ(g_log[i], expected[i]);
}

// A task that sleeps on SysTick and then pends line A, four times, wakes a task that waits on
// A four times; the loop idles in WFI between the rounds.
Task<void> pinger(int rounds) {
  for (int i = 0; i < rounds; ++i) {
    co_await cm::sleep(Ticks(2));
    cm::pend_irq(kIrqA);
  }
}

Task<void> rounds() {
  g_nlog = 0;
  auto w = spawn(waiter(kIrqA, 7, 4));
  auto p = spawn(pinger(4));
  co_await std::move(p);
  co_await std::move(w);
  CHECK_EQ(g_nlog, 4);
}

// wait_irq_for on the hardware: a timeout at exactly its tick, and an interrupt that beats a
// long deadline; neither leaves a node behind.
Task<void> pend_after(int ticks) {
  co_await cm::sleep(Ticks(ticks));
  cm::pend_irq(kIrqB);
}

Task<void> deadlines() {
  const std::int64_t t0 = cm::TickClock::now().time_since_epoch().count();
  bool interrupted = co_await cm::wait_irq_for(kIrqB, Ticks(5));
  CHECK(!interrupted);
  CHECK_EQ(cm::TickClock::now().time_since_epoch().count(), t0 + 5);
  CHECK(cm::irq_wakers(kIrqB).empty());

  auto p = spawn(pend_after(3));
  interrupted = co_await cm::wait_irq_for(kIrqB, Ticks(50));
  CHECK(interrupted);
  CHECK_EQ(cm::TickClock::now().time_since_epoch().count(), t0 + 8);
  CHECK_EQ(cm::internal::timers_queued(), 0u);
  co_await std::move(p);
}

}  // namespace

int main() {
  auto& ex = cm::executor();
  ex.block_on(per_line());
  CHECK_CLEAN();
  test::pass("software IRQs wake only their own list, in arrival order");
  ex.block_on(rounds());
  CHECK_CLEAN();
  test::pass("repeated software IRQs from a sleeping task wake a looping waiter");
  ex.block_on(deadlines());
  CHECK_CLEAN();
  test::pass("wait_irq_for times out at its tick, or returns early on the interrupt");
  test::report_resources();
  return 0;
}
