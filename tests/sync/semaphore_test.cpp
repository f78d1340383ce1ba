// Semaphore and RwLock (built on it): permits and guards, FIFO with multi-permit waiters,
// destruction while queued and after a grant, a randomized model test against a reference
// counter, TSan stress.
#include <executor/sync/rw_lock.hpp>
#include <executor/sync/semaphore.hpp>

#include <gtest/gtest.h>

#include <deque>
#include <random>
#include <vector>

#include <executor/executor.hpp>

#include "manual_executor.hpp"

namespace {

using executor::JoinHandle;
using executor::Task;
using executor::sync::RwLock;
using executor::sync::Semaphore;
using executor::sync::SemaphorePermit;
using executor::test::ManualExecutor;

Task<void> take(Semaphore* s, std::uint32_t n, std::vector<int>* order, int id,
                std::vector<SemaphorePermit>* keep) {
  SemaphorePermit p = co_await s->acquire(n);
  order->push_back(id);
  if (keep != nullptr) keep->push_back(std::move(p));
}

TEST(Semaphore, PermitsAndGuards) {
  Semaphore s(3);
  auto a = s.try_acquire(2);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->count(), 2u);
  EXPECT_EQ(s.available_permits(), 1u);
  EXPECT_FALSE(s.try_acquire(2));
  a.reset();
  EXPECT_EQ(s.available_permits(), 3u);
  auto b = s.try_acquire(3);
  b->forget();
  EXPECT_EQ(s.available_permits(), 0u);
  s.add_permits(5);
  EXPECT_EQ(s.available_permits(), 5u);
}

TEST(Semaphore, FifoIncludingLargeRequests) {
  ManualExecutor ex;  // FIFO run queue: resumption order shows the grant order
  Semaphore s(0);
  std::vector<int> order;
  std::vector<SemaphorePermit> keep;
  std::vector<JoinHandle<void>> ts;
  const std::uint32_t need[] = {2, 1, 3, 1};
  for (int i = 0; i < 4; ++i) {
    ts.push_back(ex.spawn(take(&s, need[i], &order, i, &keep)));
    ex.run();
  }
  s.add_permits(1);  // the first needs 2: nobody may pass it
  ex.run();
  EXPECT_TRUE(order.empty());
  EXPECT_FALSE(s.try_acquire(1));  // no barging while queued
  s.add_permits(2);                // 3 available: #0 (2) and #1 (1)
  ex.run();
  EXPECT_EQ(order, (std::vector<int>{0, 1}));
  keep.clear();  // returns 3 permits: #2 (3)
  ex.run();
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2}));
  keep.clear();
  ex.run();
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3}));
  keep.clear();
  EXPECT_EQ(s.available_permits(), 3u);
}

TEST(Semaphore, DestroyWhileQueuedUnblocksTheNext) {
  ManualExecutor ex;
  Semaphore s(1);
  std::vector<int> order;
  std::vector<SemaphorePermit> keep;
  auto a = ex.spawn(take(&s, 2, &order, 0, &keep));  // blocks: needs 2
  ex.run();
  auto b = ex.spawn(take(&s, 1, &order, 1, &keep));  // FIFO: waits behind a
  ex.run();
  EXPECT_TRUE(order.empty());
  a.abort_for_combinator();
  ex.run();
  EXPECT_EQ(order, (std::vector<int>{1}));  // a's removal let b through
  keep.clear();
  EXPECT_EQ(s.available_permits(), 1u);
}

TEST(Semaphore, DestroyAfterGrantReturnsThePermits) {
  ManualExecutor ex;
  Semaphore s(0);
  std::vector<int> order;
  std::vector<SemaphorePermit> keep;
  auto a = ex.spawn(take(&s, 2, &order, 0, &keep));
  ex.run();
  auto b = ex.spawn(take(&s, 2, &order, 1, &keep));
  ex.run();
  s.add_permits(2);  // granted to a
  a.abort_for_combinator();
  ex.run();
  EXPECT_EQ(order, (std::vector<int>{1}));  // a's permits went on to b
  keep.clear();
  EXPECT_EQ(s.available_permits(), 2u);
}

TEST(Semaphore, ManyWaitersReleasedInBatches) {
  ManualExecutor ex;
  Semaphore s(0);
  std::vector<int> order;
  std::vector<JoinHandle<void>> ts;
  for (int i = 0; i < 50; ++i) {
    ts.push_back(ex.spawn(take(&s, 1, &order, i, nullptr)));
    ex.run();
  }
  s.add_permits(50);
  ex.run();
  ASSERT_EQ(order.size(), 50u);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(order[i], i);
  EXPECT_EQ(s.available_permits(), 50u);
}

// Randomized model: tasks acquire random amounts, hold across a yield, release; random
// cancellations. Reference: permits in use never exceed the total, grants follow request order
// among survivors, and every permit comes back.
struct Model {
  Semaphore sem{5};
  int in_use = 0;
  int max_in_use = 0;
  std::vector<int> attempt, granted;
};

Task<void> model_task(Model* m, int id, std::uint32_t n) {
  m->attempt.push_back(id);
  auto p = co_await m->sem.acquire(n);
  m->granted.push_back(id);
  m->in_use += static_cast<int>(n);
  m->max_in_use = std::max(m->max_in_use, m->in_use);
  struct Leave {  // also runs if the frame is destroyed while holding the permits
    Model* m;
    std::uint32_t n;
    ~Leave() { m->in_use -= static_cast<int>(n); }
  } leave{m, n};
  co_await executor::yield_now();
}

TEST(Semaphore, RandomizedModel) {
  for (std::uint64_t seed = 1; seed <= 150; ++seed) {
    std::mt19937_64 rng(seed);
    ManualExecutor ex;
    ex.randomize(seed);
    Model m;
    std::vector<JoinHandle<void>> ts;
    std::vector<bool> cancelled;
    // FIFO means no overtaking: once every runnable task has run, no task that asked after a
    // still-waiting (live) task may have been granted.
    auto check_no_overtaking = [&] {
      std::vector<bool> got(ts.size(), false);
      for (int id : m.granted) got[id] = true;
      bool someone_waits = false;
      for (int id : m.attempt) {
        if (cancelled[id]) continue;
        if (!got[id]) {
          someone_waits = true;
        } else {
          ASSERT_FALSE(someone_waits) << "task " << id << " overtook a waiter, seed " << seed;
        }
      }
    };
    for (int i = 0; i < 40; ++i) {
      ts.push_back(ex.spawn(model_task(&m, i, 1 + static_cast<std::uint32_t>(rng() % 5))));
      cancelled.push_back(false);
      for (int k = static_cast<int>(rng() % 4); k > 0; --k) ex.run_one();
      if (rng() % 5 == 0) {
        int v = static_cast<int>(rng() % ts.size());
        if (!ts[v].is_finished()) {
          ts[v].abort_for_combinator();
          cancelled[v] = true;
        }
      }
      if (rng() % 3 == 0) {
        ex.run();
        check_no_overtaking();
      }
    }
    ex.run();
    check_no_overtaking();
    EXPECT_LE(m.max_in_use, 5) << seed;
    EXPECT_EQ(m.in_use, 0) << seed;
    EXPECT_EQ(m.sem.available_permits(), 5u) << seed;
    std::vector<bool> got(40, false);
    for (int id : m.granted) got[id] = true;
    for (int id = 0; id < 40; ++id) {
      if (!cancelled[id]) {
        EXPECT_TRUE(got[id]) << "task " << id << " never acquired, seed " << seed;
      }
    }
  }
}

// Shared holders (2 of 4 permits) interleaved with exclusive holders (4 of 4).
Task<void> sem_worker(Semaphore* s, int n) {
  for (int i = 0; i < n; ++i) {
    auto p = co_await s->acquire(2);
    if (i % 50 == 0) co_await executor::yield_now();
  }
}

Task<void> sem_exclusive(Semaphore* s, long* counter, int n) {
  for (int i = 0; i < n; ++i) {
    auto p = co_await s->acquire(4);  // all permits: exclusive, so the plain counter is safe
    ++*counter;
  }
}

TEST(SemaphoreStress, MixedAcrossWorkers) {
  executor::Runtime rt({.workers = 2});
  Semaphore s(4);
  long counter = 0;
  auto body = [](Semaphore* s, long* counter) -> Task<void> {
    std::vector<JoinHandle<void>> ts;
    for (int i = 0; i < 4; ++i) ts.push_back(executor::spawn(sem_worker(s, 3000)));
    for (int i = 0; i < 4; ++i) ts.push_back(executor::spawn(sem_exclusive(s, counter, 3000)));
    for (int i = 0; i < 60; ++i) {
      ts.push_back(executor::spawn(sem_exclusive(s, counter, 10)));
      if (i % 2 == 0) ts.back().abort_for_combinator();
    }
    for (auto& t : ts) {
      try {
        co_await std::move(t);
      } catch (const executor::TaskCancelled&) {
      }
    }
  };
  rt.block_on(body(&s, &counter));
  EXPECT_GE(counter, 4 * 3000 + 30 * 10);
  EXPECT_EQ(s.available_permits(), 4u);
}

// --- RwLock -------------------------------------------------------------------------------

Task<void> reader(RwLock<int>* l, std::vector<int>* seen) {
  auto g = co_await l->read();
  seen->push_back(*g);
}
Task<void> writer(RwLock<int>* l, int v) {
  auto g = co_await l->write();
  *g = v;
}

TEST(RwLock, ReadersShareWritersExclude) {
  ManualExecutor ex;
  RwLock<int> l(1);
  auto r1 = l.try_read();
  auto r2 = l.try_read();
  ASSERT_TRUE(r1 && r2);
  EXPECT_EQ(**r1, 1);
  EXPECT_FALSE(l.try_write());
  std::vector<int> seen;
  auto w = ex.spawn(writer(&l, 2));
  ex.run();
  auto r3 = ex.spawn(reader(&l, &seen));  // queued behind the writer: no writer starvation
  ex.run();
  EXPECT_TRUE(seen.empty());
  r1.reset();
  r2.reset();
  ex.run();
  EXPECT_EQ(seen, std::vector<int>{2});
  EXPECT_TRUE(l.try_write());
}

TEST(RwLock, DestroyQueuedWriterLetsReadersIn) {
  ManualExecutor ex;
  RwLock<int> l(5);
  auto r1 = l.try_read();
  std::vector<int> seen;
  auto w = ex.spawn(writer(&l, 9));
  ex.run();
  auto r = ex.spawn(reader(&l, &seen));
  ex.run();
  EXPECT_TRUE(seen.empty());
  w.abort_for_combinator();
  ex.run();
  EXPECT_EQ(seen, std::vector<int>{5});
}

Task<void> rw_worker(RwLock<long>* l, int n, long* reads) {
  for (int i = 0; i < n; ++i) {
    if (i % 4 == 0) {
      auto g = co_await l->write();
      ++*g;
    } else {
      auto g = co_await l->read();
      *reads += *g >= 0 ? 1 : 0;  // `reads` is per task
    }
  }
}

TEST(RwLockStress, AcrossWorkers) {
  executor::Runtime rt({.workers = 2});
  RwLock<long> l(0);
  auto body = [](RwLock<long>* l) -> Task<long> {
    std::vector<JoinHandle<void>> ts;
    std::vector<long> reads(6, 0);
    for (int i = 0; i < 6; ++i) ts.push_back(executor::spawn(rw_worker(l, 4000, &reads[i])));
    for (auto& t : ts) co_await std::move(t);
    long total = 0;
    for (long r : reads) total += r;
    co_return total;
  };
  EXPECT_EQ(rt.block_on(body(&l)), 6L * 3000);
  EXPECT_EQ(l.get_unsynchronized(), 6L * 1000);
}

}  // namespace
