// Mutex<T>: guard semantics, FIFO fairness, no barging, destruction of a waiting coroutine
// (queued, and after the lock was granted to it), a randomized model test, TSan stress.
#include <executor/sync/mutex.hpp>

#include <gtest/gtest.h>

#include <memory>
#include <random>
#include <string>
#include <vector>

#include <executor/executor.hpp>

#include "manual_executor.hpp"

namespace {

using executor::JoinHandle;
using executor::Task;
using executor::sync::Mutex;
using executor::test::ManualExecutor;

Task<void> locker(Mutex<std::vector<int>>* m, int id, int* attempts) {
  ++*attempts;
  auto g = co_await m->lock();
  g->push_back(id);
}

TEST(Mutex, GuardGivesAccessAndUnlocks) {
  ManualExecutor ex;
  Mutex<std::vector<int>> m;
  int attempts = 0;
  auto t = ex.spawn(locker(&m, 1, &attempts));
  ex.run();
  EXPECT_TRUE(t.is_finished());
  EXPECT_FALSE(m.is_locked());
  auto g = m.try_lock();
  ASSERT_TRUE(g.has_value());
  EXPECT_EQ((**g), std::vector<int>{1});
  EXPECT_FALSE(m.try_lock().has_value());
  g->unlock();
  EXPECT_FALSE(m.is_locked());
  Mutex<std::string> s(std::in_place, 3, 'a');
  EXPECT_EQ(s.get_unsynchronized(), "aaa");
  Mutex<> plain;
  auto pg = plain.try_lock();
  EXPECT_TRUE(pg.has_value());
}

TEST(Mutex, WaitersAcquireInFifoOrder) {
  ManualExecutor ex;
  ex.randomize(7);  // run order of the woken tasks must not matter
  Mutex<std::vector<int>> m;
  auto held = m.try_lock();
  ASSERT_TRUE(held);
  int attempts = 0;
  std::vector<JoinHandle<void>> ts;
  for (int i = 0; i < 6; ++i) {
    ts.push_back(ex.spawn(locker(&m, i, &attempts)));
    ex.run();  // each queues in turn
  }
  EXPECT_FALSE(m.try_lock().has_value());  // no barging while queued
  held->unlock();
  ex.run();
  EXPECT_EQ(m.get_unsynchronized(), (std::vector<int>{0, 1, 2, 3, 4, 5}));
  EXPECT_FALSE(m.is_locked());
}

TEST(Mutex, WakeGoesThroughTheScheduler) {
  ManualExecutor ex;
  Mutex<std::vector<int>> m;
  auto held = m.try_lock();
  int attempts = 0;
  auto t = ex.spawn(locker(&m, 1, &attempts));
  ex.run();
  held->unlock();
  EXPECT_FALSE(t.is_finished());  // not resumed on the unlocker's stack
  EXPECT_EQ(ex.queued(), 1u);
  EXPECT_TRUE(m.is_locked());  // handed to the waiter directly
  ex.run();
  EXPECT_TRUE(t.is_finished());
}

TEST(Mutex, DestroyWhileQueued) {
  ManualExecutor ex;
  Mutex<std::vector<int>> m;
  auto held = m.try_lock();
  int attempts = 0;
  auto a = ex.spawn(locker(&m, 0, &attempts));
  ex.run();
  auto b = ex.spawn(locker(&m, 1, &attempts));
  ex.run();
  auto c = ex.spawn(locker(&m, 2, &attempts));
  ex.run();
  b.abort_for_combinator();
  ex.run();
  EXPECT_TRUE(b.is_finished());
  held->unlock();
  ex.run();
  EXPECT_EQ(m.get_unsynchronized(), (std::vector<int>{0, 2}));
  EXPECT_FALSE(m.is_locked());
}

TEST(Mutex, DestroyTheOnlyWaiterThenUnlock) {
  ManualExecutor ex;
  Mutex<std::vector<int>> m;
  auto held = m.try_lock();
  int attempts = 0;
  auto a = ex.spawn(locker(&m, 0, &attempts));
  ex.run();
  a.abort_for_combinator();
  ex.run();
  held->unlock();  // the queue is empty again: plain unlock
  EXPECT_FALSE(m.is_locked());
  EXPECT_TRUE(m.try_lock().has_value());
}

// The cancel-versus-grant race: the lock was handed to a waiter that is destroyed before it
// resumes. The lock must pass to the next waiter, not be lost.
TEST(Mutex, DestroyAfterGrantPassesTheLockOn) {
  ManualExecutor ex;
  Mutex<std::vector<int>> m;
  auto held = m.try_lock();
  int attempts = 0;
  auto a = ex.spawn(locker(&m, 0, &attempts));
  ex.run();
  auto b = ex.spawn(locker(&m, 1, &attempts));
  ex.run();
  held->unlock();  // granted to a
  a.abort_for_combinator();
  ex.run();
  EXPECT_EQ(m.get_unsynchronized(), (std::vector<int>{1}));
  EXPECT_FALSE(m.is_locked());
}

TEST(Mutex, DestroyAfterGrantWithNobodyElseUnlocks) {
  ManualExecutor ex;
  Mutex<std::vector<int>> m;
  auto held = m.try_lock();
  int attempts = 0;
  auto a = ex.spawn(locker(&m, 0, &attempts));
  ex.run();
  held->unlock();
  a.abort_for_combinator();
  ex.run();
  EXPECT_FALSE(m.is_locked());
}

// Randomized model: tasks lock, hold the lock across a yield, unlock; the scheduler picks
// tasks randomly and cancels some at random points. Checks mutual exclusion, that every
// surviving task gets the lock exactly once, and FIFO: acquisitions follow attempt order.
struct ModelState {
  Mutex<int> m;
  int inside = 0;
  int violations = 0;
  std::vector<int> attempt_order, acquire_order;
};

Task<void> model_task(ModelState* st, int id) {
  st->attempt_order.push_back(id);
  auto g = co_await st->m.lock();
  st->acquire_order.push_back(id);
  if (++st->inside != 1) ++st->violations;
  struct Leave {  // also runs if the frame is destroyed while holding the lock
    int* inside;
    ~Leave() { --*inside; }
  } leave{&st->inside};
  co_await executor::yield_now();  // hold the lock across a suspension
}

TEST(Mutex, RandomizedModel) {
  for (std::uint64_t seed = 1; seed <= 200; ++seed) {
    std::mt19937_64 rng(seed);
    ManualExecutor ex;
    ex.randomize(seed);
    ModelState st;
    std::vector<JoinHandle<void>> ts;
    std::vector<bool> cancelled(30, false);
    for (int i = 0; i < 30; ++i) {
      ts.push_back(ex.spawn(model_task(&st, i)));
      for (int s = static_cast<int>(rng() % 3); s > 0; --s) ex.run_one();
      if (rng() % 4 == 0) {
        int victim = static_cast<int>(rng() % ts.size());
        if (!ts[victim].is_finished()) {
          ts[victim].abort_for_combinator();
          cancelled[victim] = true;
        }
      }
    }
    ex.run();
    EXPECT_EQ(st.violations, 0) << seed;
    EXPECT_FALSE(st.m.is_locked()) << seed;
    // Every task that attempted and was not cancelled acquired; acquisitions keep the attempt
    // order (a cancelled task may or may not have acquired before its cancellation).
    std::vector<int> expected;
    std::vector<bool> acquired(30, false);
    for (int id : st.acquire_order) acquired[id] = true;
    for (int id : st.attempt_order) {
      if (!cancelled[id] || acquired[id]) expected.push_back(id);
    }
    EXPECT_EQ(st.acquire_order, expected) << seed;
  }
}

// --- TSan stress: the `mutex` workload in miniature ------------------------------------------

Task<void> incrementer(Mutex<long>* m, int n) {
  for (int i = 0; i < n; ++i) {
    auto g = co_await m->lock();
    ++*g;
    if (i % 64 == 0) co_await executor::yield_now();  // sometimes hold it across a suspension
  }
}

TEST(MutexStress, EightTasksTwoWorkers) {
  executor::Runtime rt({.workers = 2});
  Mutex<long> m;
  const int n = 20000;
  auto body = [](Mutex<long>* m, int n) -> Task<void> {
    std::vector<JoinHandle<void>> ts;
    for (int i = 0; i < 8; ++i) ts.push_back(executor::spawn(incrementer(m, n)));
    for (auto& t : ts) co_await std::move(t);
  };
  rt.block_on(body(&m, n));
  EXPECT_EQ(m.get_unsynchronized(), 8L * n);
}

TEST(MutexStress, CancellationsWhileContended) {
  executor::Runtime rt({.workers = 2});
  Mutex<long> m;
  auto body = [](Mutex<long>* m) -> Task<long> {
    std::vector<JoinHandle<void>> ts;
    for (int i = 0; i < 200; ++i) {
      ts.push_back(executor::spawn(incrementer(m, 50)));
      if (i % 3 == 0) ts.back().abort_for_combinator();
    }
    long finished = 0;
    for (auto& t : ts) {
      try {
        co_await std::move(t);
        ++finished;
      } catch (const executor::TaskCancelled&) {
      }
    }
    co_return finished;
  };
  long finished = rt.block_on(body(&m));
  EXPECT_GE(finished, 133);
  EXPECT_FALSE(m.is_locked());
  EXPECT_GE(m.get_unsynchronized(), finished * 50);
  EXPECT_LE(m.get_unsynchronized(), 200L * 50);
}

}  // namespace
