// Host tests of the sync/ primitives on the Cortex-M executor: the lock facade's critical-section
// hooks (PRIMASK semantics: nesting, delivery of a held interrupt at the outermost exit) and
// Handoff between tasks woken by interrupts.
#include <gtest/gtest.h>

#include <optional>
#include <utility>
#include <vector>

#include <executor/cortexm/executor.hpp>
#include <executor/cortexm/irq.hpp>
#include <executor/join_handle.hpp>
#include <executor/sync/detail/lock.hpp>
#include <executor/sync/handoff.hpp>
#include <executor/sync/mutex.hpp>
#include <executor/sync/notify.hpp>
#include <executor/sync/wait_map.hpp>
#include <executor/task.hpp>

#include "fixture.hpp"
#include "sim_port.hpp"

namespace {

using cortexm_test::CortexM;
using executor::JoinHandle;
using executor::Task;
namespace cm = executor::cortexm;

Task<void> wait_once(unsigned irq, int* woken) {
  co_await cm::wait_irq(irq);
  ++*woken;
}

TEST_F(CortexM, SyncLockIsANestableCriticalSection) {
  int woken = 0;
  auto r = cm::try_spawn(wait_once(3, &woken));
  ASSERT_TRUE(r);
  cm::executor().run_ready();
  executor::sync::detail::Lock outer, inner;
  outer.lock();
  EXPECT_TRUE(sim::masked());
  sim::raise(3);  // held pending while masked
  EXPECT_EQ(sim::handler_count(), 0u);
  inner.lock();
  inner.unlock();
  EXPECT_TRUE(sim::masked()) << "an inner exit must not unmask";
  EXPECT_EQ(sim::handler_count(), 0u);
  outer.unlock();
  EXPECT_FALSE(sim::masked());
  EXPECT_EQ(sim::handler_count(), 1u) << "the held interrupt runs at the outermost exit";
  cm::executor().run_ready();
  EXPECT_EQ(woken, 1);
}

// A driver task waits for its interrupt and hands each event to a consumer over a Handoff.
Task<void> driver(unsigned irq, executor::sync::Pusher<int> out, int n) {
  for (int i = 0; i < n; ++i) {
    co_await cm::wait_irq(irq);
    if (!co_await out.push(int(i * 10))) co_return;
  }
}

Task<std::vector<int>> collect(executor::sync::Popper<int> in) {
  std::vector<int> got;
  while (std::optional<int> v = co_await in.pop()) got.push_back(*v);
  co_return got;
}

TEST_F(CortexM, HandoffFromAnInterruptDrivenTask) {
  executor::sync::Handoff<int> h;
  auto [pusher, popper] = h.split();
  auto c = cm::try_spawn(collect(std::move(popper)));
  auto d = cm::try_spawn(driver(6, std::move(pusher), 3));
  ASSERT_TRUE(c && d);
  for (int i = 0; i < 3; ++i) {
    cm::executor().run_ready();
    sim::raise(6);
  }
  cm::executor().run_until(c.handle);
  auto join = std::move(c.handle).join();
  EXPECT_EQ(join.await_resume(), (std::vector<int>{0, 10, 20}));
}

// Primitives an interrupt handler may drive: WaitMap::wake and Notify::notify_one from the
// handler only queue the waiting tasks; they run from the loop afterwards.
Task<void> wait_key(executor::sync::WaitMap<int, int>* map, int key, int* out) {
  auto r = co_await map->wait(key);
  *out = r ? *r : -1;
}

Task<void> wait_notified(executor::sync::Notify* n, int* count) {
  co_await n->notified();
  ++*count;
}

TEST_F(CortexM, WaitMapAndNotifyFromAnInterruptHandler) {
  executor::sync::WaitMap<int, int> map;
  executor::sync::Notify notify;
  int got = 0, notified = 0;
  auto a = cm::try_spawn(wait_key(&map, 5, &got));
  auto b = cm::try_spawn(wait_notified(&notify, &notified));
  ASSERT_TRUE(a && b);
  cm::executor().run_ready();
  sim::set_irq_handler(9, [&] {
    EXPECT_TRUE(map.wake(5, 50).woke());
    notify.notify_one();
  });
  cm::enable_irq(9);
  sim::raise(9);
  EXPECT_EQ(got, 0) << "woken tasks run from the loop, not in the handler";
  EXPECT_EQ(cm::executor().run_ready(), 2u);
  EXPECT_EQ(got, 50);
  EXPECT_EQ(notified, 1);
}

// A task cancelled while queued on a Mutex: the lock passes over it to the next waiter.
Task<void> lock_and_count(executor::sync::Mutex<int>* m) {
  auto g = co_await m->lock();
  ++*g;
}

TEST_F(CortexM, MutexWaiterCancelledOnTheQueue) {
  executor::sync::Mutex<int> m(0);
  auto held = m.try_lock();
  ASSERT_TRUE(held.has_value());
  auto a = cm::try_spawn(lock_and_count(&m));
  auto b = cm::try_spawn(lock_and_count(&m));
  ASSERT_TRUE(a && b);
  cm::executor().run_ready();
  a.handle.abort_for_combinator();
  cm::executor().run_ready();
  EXPECT_TRUE(a.handle.is_finished());
  held->unlock();
  cm::executor().run_ready();
  EXPECT_TRUE(b.handle.is_finished());
  EXPECT_EQ(m.get_unsynchronized(), 1);
  EXPECT_FALSE(m.is_locked());
}

}  // namespace
