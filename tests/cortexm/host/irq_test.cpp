// Host tests of the per-interrupt waker lists: FIFO wake-up, one list per line, masking on
// fire and the latched interrupt, and cancellation of tasks while their nodes sit on a list.
#include <gtest/gtest.h>

#include <cstdint>
#include <utility>
#include <vector>

#include <executor/cortexm/executor.hpp>
#include <executor/cortexm/irq.hpp>
#include <executor/join_handle.hpp>
#include <executor/task.hpp>

#include "fixture.hpp"
#include "sim_port.hpp"

namespace {

using cortexm_test::CortexM;
using executor::JoinHandle;
using executor::Task;
namespace cm = executor::cortexm;

Task<void> waiter(unsigned irq, int id, std::vector<int>* log, int rounds = 1) {
  for (int i = 0; i < rounds; ++i) {
    co_await cm::wait_irq(irq);
    log->push_back(id);
  }
}

JoinHandle<void> spawn_waiter(unsigned irq, int id, std::vector<int>* log, int rounds = 1) {
  auto r = cm::try_spawn(waiter(irq, id, log, rounds));
  EXPECT_TRUE(r);
  return std::move(r.handle);
}

TEST_F(CortexM, InterruptWakesEveryWaiterOfItsLineInArrivalOrder) {
  std::vector<int> log;
  auto a = spawn_waiter(3, 1, &log);
  auto b = spawn_waiter(3, 2, &log);
  auto c = spawn_waiter(3, 3, &log);
  cm::executor().run_ready();
  EXPECT_EQ(cm::irq_wakers(3).size(), 3u);
  EXPECT_TRUE(sim::enabled(3)) << "wait_irq enables its line";
  EXPECT_TRUE(log.empty());
  sim::raise(3);
  EXPECT_TRUE(cm::irq_wakers(3).empty());
  EXPECT_TRUE(log.empty()) << "the handler only queues; tasks run from the loop";
  EXPECT_EQ(cm::executor().ready_tasks(), 3u);
  cm::executor().run_ready();
  EXPECT_EQ(log, (std::vector<int>{1, 2, 3}));
  EXPECT_TRUE(a.is_finished() && b.is_finished() && c.is_finished());
}

TEST_F(CortexM, EachLineWakesOnlyItsOwnList) {
  std::vector<int> log;
  auto a = spawn_waiter(5, 50, &log);
  auto b = spawn_waiter(6, 60, &log);
  auto c = spawn_waiter(5, 51, &log);
  cm::executor().run_ready();
  sim::raise(6);
  cm::executor().run_ready();
  EXPECT_EQ(log, (std::vector<int>{60}));
  EXPECT_EQ(cm::irq_wakers(5).size(), 2u);
  sim::raise(5);
  cm::executor().run_ready();
  EXPECT_EQ(log, (std::vector<int>{60, 50, 51}));
}

TEST_F(CortexM, HandlerMasksTheLineAndAnInterruptWithoutWaitersIsLatched) {
  std::vector<int> log;
  auto a = spawn_waiter(9, 1, &log, 2);
  cm::executor().run_ready();
  sim::raise(9);
  EXPECT_FALSE(sim::enabled(9)) << "the default handler masks its line";
  cm::executor().run_ready();  // logs 1, waits again: unmasks
  EXPECT_TRUE(sim::enabled(9));
  EXPECT_EQ(log, (std::vector<int>{1}));

  // Nobody waits on line 10: its interrupt stays pending and wakes the next waiter at once.
  sim::raise(10);
  EXPECT_TRUE(sim::pending(10));
  auto b = spawn_waiter(10, 2, &log);
  cm::executor().run_ready();
  EXPECT_FALSE(sim::pending(10));
  EXPECT_EQ(log, (std::vector<int>{1, 2}));
  sim::raise(9);
  cm::executor().run_ready();
  EXPECT_EQ(log, (std::vector<int>{1, 2, 1}));
}

// A task woken twice before it runs (two interrupts) runs once: wakes are idempotent.
TEST_F(CortexM, TwoInterruptsBeforeTheTaskRunsWakeItOnce) {
  std::vector<int> log;
  auto a = spawn_waiter(11, 7, &log, 1);
  cm::executor().run_ready();
  sim::raise(11);
  sim::raise(11);  // line is masked now: stays pending
  EXPECT_EQ(cm::executor().run_ready(), 1u);
  EXPECT_EQ(log, (std::vector<int>{7}));
}

// Cancellation of a task sitting on a waker list: its node unlinks itself when the frame is
// destroyed, the other waiters stay linked in order, and a later interrupt touches no freed
// memory (ASan checks this in the asan preset).
TEST_F(CortexM, CancellingAWaiterUnlinksItsNodeFromTheList) {
  std::vector<int> log;
  auto a = spawn_waiter(12, 1, &log);
  auto b = spawn_waiter(12, 2, &log);
  auto c = spawn_waiter(12, 3, &log);
  cm::executor().run_ready();
  ASSERT_EQ(cm::irq_wakers(12).size(), 3u);

  b.abort_for_combinator();                   // the middle node
  EXPECT_EQ(cm::executor().run_ready(), 1u);  // the cancel run destroys b's frame
  EXPECT_TRUE(b.is_finished());
  EXPECT_EQ(cm::irq_wakers(12).size(), 2u);

  a.abort_for_combinator();  // the head node
  cm::executor().run_ready();
  EXPECT_EQ(cm::irq_wakers(12).size(), 1u);

  sim::raise(12);
  cm::executor().run_ready();
  EXPECT_EQ(log, (std::vector<int>{3}));
  EXPECT_TRUE(c.is_finished());
  EXPECT_EQ(cm::frame_pool_table().in_use(), 3u) << "only the three joinable cells are left";
}

// Cancel and interrupt race: the interrupt wakes the task (queued), then the cancel arrives
// before it runs. The run cancels instead of resuming; nothing is resumed twice or leaked.
TEST_F(CortexM, CancelAfterWakeBeforeRun) {
  std::vector<int> log;
  auto a = spawn_waiter(13, 1, &log);
  cm::executor().run_ready();
  sim::raise(13);
  EXPECT_EQ(cm::executor().ready_tasks(), 1u);
  a.abort_for_combinator();
  EXPECT_EQ(cm::executor().run_ready(), 1u);
  EXPECT_TRUE(a.is_finished());
  EXPECT_TRUE(log.empty());
}

// Dropping the JoinHandle of a waiting task detaches it; it still wakes and finishes.
TEST_F(CortexM, DetachedWaiterStillRuns) {
  std::vector<int> log;
  { auto a = spawn_waiter(14, 4, &log); }
  cm::executor().run_ready();
  EXPECT_EQ(cm::executor().live_tasks(), 1u);
  sim::raise(14);
  cm::executor().run_ready();
  EXPECT_EQ(log, (std::vector<int>{4}));
  EXPECT_EQ(cm::executor().live_tasks(), 0u);
  EXPECT_EQ(cm::frame_pool_table().in_use(), 0u);
}

// wait_irq_for: two waker lists (the line's and SysTick's timer queue) race for one
// suspension; the loser's node is withdrawn.
Task<void> wait_with_deadline(unsigned irq, std::int64_t ticks, std::vector<int>* log) {
  bool interrupted = co_await cm::wait_irq_for(irq, cm::TickClock::duration(ticks));
  log->push_back(interrupted ? 1 : 0);
  log->push_back(static_cast<int>(cortexm_test::ticks()));
}

TEST_F(CortexM, WaitIrqForReturnsTrueWhenTheInterruptComesFirst) {
  std::vector<int> log;
  auto r = cm::try_spawn(wait_with_deadline(15, 5, &log));
  ASSERT_TRUE(r);
  cm::executor().run_ready();
  EXPECT_EQ(cm::irq_wakers(15).size(), 1u);
  EXPECT_EQ(cm::internal::timers_queued(), 1u);
  sim::tick(2);
  sim::raise(15);
  cm::executor().run_ready();
  EXPECT_EQ(log, (std::vector<int>{1, 2}));
  EXPECT_EQ(cm::internal::timers_queued(), 0u) << "the timer node is withdrawn";
}

TEST_F(CortexM, WaitIrqForReturnsFalseAtTheDeadline) {
  std::vector<int> log;
  auto r = cm::try_spawn(wait_with_deadline(15, 3, &log));
  ASSERT_TRUE(r);
  cm::executor().run_ready();
  sim::tick(2);
  cm::executor().run_ready();
  EXPECT_TRUE(log.empty());
  sim::tick();
  cm::executor().run_ready();
  EXPECT_EQ(log, (std::vector<int>{0, 3}));
  EXPECT_TRUE(cm::irq_wakers(15).empty()) << "the interrupt node is withdrawn";
  sim::raise(15);  // finds nobody
  EXPECT_EQ(cm::executor().run_ready(), 0u);
}

TEST_F(CortexM, WaitIrqForPrefersTheInterruptWhenBothFireBeforeTheTaskRuns) {
  std::vector<int> log;
  auto r = cm::try_spawn(wait_with_deadline(15, 1, &log));
  ASSERT_TRUE(r);
  cm::executor().run_ready();
  sim::tick();     // the timer wakes it first ...
  sim::raise(15);  // ... and the interrupt arrives before it runs
  cm::executor().run_ready();
  EXPECT_EQ(log, (std::vector<int>{1, 1}));
}

TEST_F(CortexM, WaitIrqForWithAPastDeadlineDoesNotSuspend) {
  std::vector<int> log;
  auto r = cm::try_spawn(wait_with_deadline(15, 0, &log));
  ASSERT_TRUE(r);
  EXPECT_EQ(cm::executor().run_ready(), 1u);
  EXPECT_EQ(log, (std::vector<int>{0, 0}));
  EXPECT_TRUE(cm::irq_wakers(15).empty());
}

TEST_F(CortexM, CancellingWaitIrqForUnlinksBothNodes) {
  std::vector<int> log;
  auto r = cm::try_spawn(wait_with_deadline(15, 10, &log));
  ASSERT_TRUE(r);
  cm::executor().run_ready();
  r.handle.abort_for_combinator();
  cm::executor().run_ready();
  EXPECT_TRUE(r.handle.is_finished());
  EXPECT_TRUE(cm::irq_wakers(15).empty());
  EXPECT_EQ(cm::internal::timers_queued(), 0u);
  sim::tick(10);
  sim::raise(15);
  EXPECT_EQ(cm::executor().run_ready(), 0u);
  EXPECT_TRUE(log.empty());
}

TEST_F(CortexM, OutOfRangeInterruptIsAFatalError) {
  EXPECT_DEATH(cm::pend_irq(cm::kNumIrqs), "interrupt number out of range");
}

}  // namespace
