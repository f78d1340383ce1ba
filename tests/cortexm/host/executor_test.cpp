// Host tests of the Cortex-M executor loop: spawning, FIFO scheduling, joins, yielding, the
// interrupt discipline of the loop (tasks run masked, handlers run between tasks), WFI when
// idle, spawn errors on frame exhaustion, shutdown, and a million synchronous awaits.
#include <gtest/gtest.h>

#include <cstdint>
#include <utility>
#include <vector>

#include <executor/cortexm/critical_section.hpp>
#include <executor/cortexm/executor.hpp>
#include <executor/cortexm/frame_pool.hpp>
#include <executor/cortexm/irq.hpp>
#include <executor/join_handle.hpp>
#include <executor/task.hpp>
#include <executor/yield.hpp>

#include "fixture.hpp"
#include "sim_port.hpp"

namespace {

using cortexm_test::CortexM;
using executor::JoinHandle;
using executor::Task;
namespace cm = executor::cortexm;

std::vector<int> g_log;

Task<int> value(int v) {
  co_return v;
}

Task<void> record(int v) {
  g_log.push_back(v);
  co_return;
}

Task<int> add_after_yield(int a, int b) {
  co_await executor::yield_now();
  co_return a + b;
}

TEST_F(CortexM, SpawnedTasksRunInFifoOrderFromTheLoopOnly) {
  g_log.clear();
  std::vector<JoinHandle<void>> handles;
  for (int i = 0; i < 5; ++i) {
    auto r = cm::try_spawn(record(i));
    ASSERT_TRUE(r);
    handles.push_back(std::move(r.handle));
  }
  EXPECT_TRUE(g_log.empty()) << "spawn must not run the task inline";
  EXPECT_EQ(cm::executor().ready_tasks(), 5u);
  EXPECT_EQ(cm::executor().run_ready(), 5u);
  EXPECT_EQ(g_log, (std::vector<int>{0, 1, 2, 3, 4}));
  for (auto& h : handles) EXPECT_TRUE(h.is_finished());
  EXPECT_EQ(cm::executor().live_tasks(), 0u);
}

TEST_F(CortexM, BlockOnReturnsTheValueAndJoinsChildren) {
  auto body = []() -> Task<int> {
    auto a = cm::try_spawn(value(20));
    auto b = cm::try_spawn(add_after_yield(10, 12));
    if (!a || !b) co_return -1;
    int x = co_await std::move(a.handle);
    int y = co_await std::move(b.handle);
    co_return x + y;
  };
  EXPECT_EQ(cm::executor().block_on(body()), 42);
}

TEST_F(CortexM, CallableSpawnMovesItsArguments) {
  struct Adder {
    int base;
    Task<int> operator()(int v) const { co_return base + v; }
  };
  auto r = cm::try_spawn(Adder{40}, 2);
  ASSERT_TRUE(r);
  cm::executor().run_until(r.handle);
  auto join = std::move(r.handle).join();
  EXPECT_EQ(join.await_resume(), 42);
}

Task<void> observe_mask(bool* masked, bool* in_task) {
  *masked = sim::masked();
  *in_task = executor::detail::context().task != nullptr;
  co_return;
}

TEST_F(CortexM, TasksRunWithInterruptsMaskedAndHandlersRunBetweenTasks) {
  bool masked = false, in_task = false;
  auto r = cm::try_spawn(observe_mask(&masked, &in_task));
  ASSERT_TRUE(r);
  cm::executor().run_ready();
  EXPECT_TRUE(masked);
  EXPECT_TRUE(in_task);
  EXPECT_FALSE(sim::masked()) << "run_ready restores the caller's mask";
}

// An interrupt raised while a task runs is held pending and handled in the loop's window
// right after that run, before the next task.
Task<void> raise_from_task(unsigned irq, std::vector<int>* log) {
  sim::raise(irq);
  log->push_back(sim::handler_count() == 0 ? 1 : -1);  // not delivered inside the task
  co_return;
}

Task<void> wait_then_log(unsigned irq, std::vector<int>* log) {
  co_await cm::wait_irq(irq);
  log->push_back(3);
}

TEST_F(CortexM, InterruptRaisedInsideATaskIsDeliveredAtTheNextWindow) {
  std::vector<int> log;
  auto w = cm::try_spawn(wait_then_log(4, &log));
  ASSERT_TRUE(w);
  EXPECT_EQ(cm::executor().run_ready(), 1u);  // now waiting on IRQ 4
  auto r = cm::try_spawn(raise_from_task(4, &log));
  ASSERT_TRUE(r);
  EXPECT_EQ(cm::executor().run_ready(), 2u);  // raise_from_task, then the woken waiter
  EXPECT_EQ(log, (std::vector<int>{1, 3}));
  EXPECT_EQ(sim::handler_count(), 1u);
}

// With nothing ready the loop executes WFI (masked); the interrupt that ends it is handled in
// the following window and the woken task runs.
TEST_F(CortexM, IdleLoopWaitsForInterruptWithoutLosingTheWakeup) {
  std::vector<int> log;
  auto r = cm::try_spawn(wait_then_log(7, &log));
  ASSERT_TRUE(r);
  int hooks = 0;
  sim::set_idle_hook([&] {
    ++hooks;
    EXPECT_TRUE(sim::masked()) << "WFI must run with interrupts masked";
    sim::raise(7);  // pends only: PRIMASK is set
    EXPECT_TRUE(sim::pending(7));
  });
  cm::executor().run_until(r.handle);
  EXPECT_EQ(hooks, 1);
  EXPECT_EQ(log, (std::vector<int>{3}));
}

TEST_F(CortexM, RunUntilStartsTheTickIfNobodyDid) {
  sim::reset();
  cm::internal::reset_timers_for_test();
  EXPECT_FALSE(cm::tick_started());
  EXPECT_EQ(cm::executor().block_on(value(5)), 5);
  EXPECT_TRUE(sim::systick_running());
  EXPECT_EQ(sim::systick_reload(), EXECUTOR_CORTEXM_CPU_HZ / EXECUTOR_CORTEXM_TICK_HZ - 1);
}

// A yielding task goes to the back of the queue: two yielders interleave.
Task<void> yielder(int id, int rounds, std::vector<int>* log) {
  for (int i = 0; i < rounds; ++i) {
    log->push_back(id);
    co_await executor::yield_now();
  }
}

TEST_F(CortexM, YieldInterleavesTasks) {
  std::vector<int> log;
  auto a = cm::try_spawn(yielder(1, 3, &log));
  auto b = cm::try_spawn(yielder(2, 3, &log));
  ASSERT_TRUE(a && b);
  cm::executor().run_ready();
  EXPECT_EQ(log, (std::vector<int>{1, 2, 1, 2, 1, 2}));
}

// Pool exhaustion is an error value, not a crash, and loses nothing.
Task<void> park_on(unsigned irq) {
  co_await cm::wait_irq(irq);
}

TEST_F(CortexM, SpawnBeyondCapacityReportsOutOfFramesAndLeaksNothing) {
  std::vector<JoinHandle<void>> handles;
  cm::SpawnError error = cm::SpawnError::kNone;
  for (int i = 0; i < 1000; ++i) {
    auto r = cm::try_spawn(park_on(1));
    if (!r) {
      error = r.error;
      EXPECT_FALSE(r.handle.valid());
      break;
    }
    handles.push_back(std::move(r.handle));
  }
  ASSERT_EQ(error, cm::SpawnError::kOutOfFrames);
  EXPECT_STREQ(cm::to_string(error), "out of frames: no frame-pool block for the task");
  EXPECT_GT(handles.size(), 4u);
  EXPECT_GT(cm::frame_pool_table().failures(), 0u);
  EXPECT_GT(cm::frame_pool_table().largest_failed_request(), 0u);
  const std::size_t spawned = handles.size();
  EXPECT_EQ(cm::executor().live_tasks(), spawned);

  // The callable form fails the same way and destroys the arguments it was given.
  struct Counted {
    int* destroyed;
    explicit Counted(int* d) : destroyed(d) {}
    Counted(Counted&& o) noexcept : destroyed(std::exchange(o.destroyed, nullptr)) {}
    ~Counted() {
      if (destroyed) ++*destroyed;
    }
  };
  int destroyed = 0;
  {
    auto r = cm::try_spawn([](Counted) -> Task<void> { co_return; }, Counted(&destroyed));
    EXPECT_EQ(r.error, cm::SpawnError::kOutOfFrames);
  }
  EXPECT_EQ(destroyed, 1);

  // Everything parked wakes and finishes; afterwards spawning works again.
  cm::executor().run_ready();
  sim::raise(1);
  EXPECT_EQ(cm::executor().run_ready(), spawned);
  for (auto& h : handles) EXPECT_TRUE(h.is_finished());
  handles.clear();
  EXPECT_EQ(cm::frame_pool_table().in_use(), 0u);
  EXPECT_EQ(cm::executor().block_on(value(9)), 9);
}

// Shutdown cancels tasks that will never be woken; their joiners see them finished.
TEST_F(CortexM, ShutdownCancelsWaitingAndQueuedTasks) {
  auto a = cm::try_spawn(park_on(2));
  ASSERT_TRUE(a);
  cm::executor().run_ready();
  auto b = cm::try_spawn(park_on(2));  // still queued, never ran
  ASSERT_TRUE(b);
  EXPECT_EQ(cm::irq_wakers(2).size(), 1u);
  cm::executor().shutdown();
  EXPECT_TRUE(a.handle.is_finished());
  EXPECT_TRUE(b.handle.is_finished());
  EXPECT_TRUE(cm::irq_wakers(2).empty());
  EXPECT_EQ(cm::executor().live_tasks(), 0u);
  EXPECT_EQ(cm::executor().ready_tasks(), 0u);
  sim::raise(2);  // nothing left to wake, nothing dangling
  EXPECT_EQ(cm::executor().run_ready(), 0u);
}

// The DESIGN rule: a million synchronously completing awaits in a loop keep the stack flat in
// every build type (the inline-transfer bound bounces long chains through the ready queue).
Task<int> one() {
  co_return 1;
}

Task<long> many_awaits(long n) {
  long sum = 0;
  for (long i = 0; i < n; ++i) sum += co_await one();
  co_return sum;
}

TEST_F(CortexM, MillionSynchronousAwaits) {
  EXPECT_EQ(cm::executor().block_on(many_awaits(1'000'000)), 1'000'000);
}

// try_spawn is legal in an interrupt handler: the task is queued and first runs from the loop.
TEST_F(CortexM, SpawnFromAnInterruptHandler) {
  std::vector<JoinHandle<void>> handles;
  sim::set_irq_handler(8, [&] {
    auto r = cm::try_spawn(record(8));
    EXPECT_TRUE(r);
    handles.push_back(std::move(r.handle));
  });
  g_log.clear();
  cm::enable_irq(8);
  sim::raise(8);
  EXPECT_TRUE(g_log.empty()) << "the spawned task does not run inside the handler";
  EXPECT_EQ(cm::executor().run_ready(), 1u);
  EXPECT_EQ(g_log, (std::vector<int>{8}));
  ASSERT_EQ(handles.size(), 1u);
  EXPECT_TRUE(handles[0].is_finished());
}

Task<void> block_inside() {
  cm::executor().run_ready();
  co_return;
}

TEST_F(CortexM, RunningTheLoopInsideATaskIsAFatalError) {
  EXPECT_DEATH(
      {
        auto r = cm::try_spawn(block_inside());
        cm::executor().run_ready();
      },
      "run_ready\\(\\) needs thread mode");
}

TEST_F(CortexM, RunningTheLoopWithInterruptsMaskedIsAFatalError) {
  EXPECT_DEATH(
      {
        cm::CriticalSection cs;
        cm::executor().run_ready();
      },
      "interrupts enabled");
}

}  // namespace
