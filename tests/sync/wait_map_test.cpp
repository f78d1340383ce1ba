// WaitMap: delivery, NoMatch/Closed/Duplicate, close with many waiters, destruction of a waiting
// coroutine (before and after its wake), wait_owned, a randomized model test against a
// reference map, and TSan stress across workers and a foreign thread.
#include <executor/sync/wait_map.hpp>

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <executor/executor.hpp>

#include "manual_executor.hpp"

namespace {

using executor::JoinHandle;
using executor::Task;
using executor::sync::WaitError;
using executor::sync::WaitMap;
using executor::sync::WakeKind;
using executor::test::ManualExecutor;

using Map = WaitMap<int, std::string>;

struct Outcome {
  bool done = false;
  std::optional<std::string> value;
  std::optional<WaitError> error;
};

Task<void> waiter(Map* m, int key, Outcome* out) {
  auto r = co_await m->wait(key);
  out->done = true;
  if (r) {
    out->value = std::move(*r);
  } else {
    out->error = r.error();
  }
}

TEST(WaitMap, WakeDeliversToTheWaiter) {
  ManualExecutor ex;
  Map m;
  Outcome o;
  auto t = ex.spawn(waiter(&m, 7, &o));
  ex.run();
  EXPECT_FALSE(o.done);
  EXPECT_EQ(m.waiting(), 1u);
  auto w = m.wake(7, "seven");
  EXPECT_TRUE(w.woke());
  EXPECT_FALSE(w.value.has_value());
  EXPECT_FALSE(o.done);  // woken through the scheduler, not inline
  EXPECT_EQ(ex.queued(), 1u);
  ex.run();
  EXPECT_EQ(o.value, "seven");
  EXPECT_EQ(m.waiting(), 0u);
}

TEST(WaitMap, NoMatchGivesTheValueBack) {
  Map m;
  auto w = m.wake(1, "lost?");
  EXPECT_EQ(w.kind, WakeKind::kNoMatch);
  EXPECT_EQ(w.value, "lost?");
}

TEST(WaitMap, DuplicateKeyFailsTheSecondWaiter) {
  ManualExecutor ex;
  Map m;
  Outcome a, b;
  auto ta = ex.spawn(waiter(&m, 3, &a));
  ex.run();
  auto tb = ex.spawn(waiter(&m, 3, &b));
  ex.run();
  EXPECT_TRUE(b.done);
  EXPECT_EQ(b.error, WaitError::kDuplicate);
  EXPECT_FALSE(a.done);
  EXPECT_TRUE(m.wake(3, "x").woke());
  ex.run();
  EXPECT_EQ(a.value, "x");
}

TEST(WaitMap, CloseFailsCurrentAndFutureWaits) {
  ManualExecutor ex;
  Map m;
  std::vector<Outcome> outs(100);  // more than one wake batch
  std::vector<JoinHandle<void>> ts;
  for (int i = 0; i < 100; ++i) ts.push_back(ex.spawn(waiter(&m, i, &outs[i])));
  ex.run();
  EXPECT_EQ(m.waiting(), 100u);
  m.close();
  EXPECT_TRUE(m.is_closed());
  EXPECT_EQ(m.waiting(), 0u);
  ex.run();
  for (auto& o : outs) {
    EXPECT_TRUE(o.done);
    EXPECT_EQ(o.error, WaitError::kClosed);
  }
  Outcome late;
  auto t = ex.spawn(waiter(&m, 1, &late));
  ex.run();
  EXPECT_EQ(late.error, WaitError::kClosed);
  auto w = m.wake(1, "v");
  EXPECT_EQ(w.kind, WakeKind::kClosed);
  EXPECT_EQ(w.value, "v");
  m.close();  // idempotent
}

TEST(WaitMap, DestroyWhileWaitingUnlinks) {
  ManualExecutor ex;
  Map m;
  Outcome o;
  auto t = ex.spawn(waiter(&m, 5, &o));
  ex.run();
  t.abort_for_combinator();
  ex.run();
  EXPECT_TRUE(t.is_finished());
  EXPECT_FALSE(o.done);
  EXPECT_EQ(m.waiting(), 0u);
  EXPECT_EQ(m.wake(5, "nobody").kind, WakeKind::kNoMatch);
  Outcome o2;  // the key is free again
  auto t2 = ex.spawn(waiter(&m, 5, &o2));
  ex.run();
  EXPECT_TRUE(m.wake(5, "again").woke());
  ex.run();
  EXPECT_EQ(o2.value, "again");
}

TEST(WaitMap, DestroyAfterWakeBeforeResume) {
  ManualExecutor ex;
  Map m;
  Outcome o;
  auto t = ex.spawn(waiter(&m, 5, &o));
  ex.run();
  EXPECT_TRUE(m.wake(5, std::string(100, 'x')).woke());
  t.abort_for_combinator();
  ex.run();  // the delivered value dies with the frame (ASan checks it is freed)
  EXPECT_FALSE(o.done);
  EXPECT_EQ(m.waiting(), 0u);
}

TEST(WaitMap, DestroyAfterCloseBeforeResume) {
  ManualExecutor ex;
  Map m;
  Outcome o;
  auto t = ex.spawn(waiter(&m, 5, &o));
  ex.run();
  m.close();
  t.abort_for_combinator();
  ex.run();
  EXPECT_FALSE(o.done);
}

Task<void> owned_waiter(std::shared_ptr<Map> m, int key, Outcome* out) {
  auto r = co_await executor::sync::wait_owned(std::move(m), key);
  out->done = true;
  if (r) out->value = std::move(*r);
}

TEST(WaitMap, WaitOwnedKeepsTheMapAlive) {
  ManualExecutor ex;
  auto m = std::make_shared<Map>();
  std::weak_ptr<Map> weak = m;
  Outcome o;
  auto t = ex.spawn(owned_waiter(m, 1, &o));
  ex.run();
  Map* raw = m.get();
  m.reset();  // the caller's reference is gone; the wait holds the map
  ASSERT_FALSE(weak.expired());
  EXPECT_TRUE(raw->wake(1, "owned").woke());
  ex.run();
  EXPECT_EQ(o.value, "owned");
  EXPECT_TRUE(weak.expired());
}

TEST(WaitMap, WaitOwnedDestroyedWhileWaitingReleasesTheMap) {
  ManualExecutor ex;
  auto m = std::make_shared<Map>();
  std::weak_ptr<Map> weak = m;
  Outcome o;
  auto t = ex.spawn(owned_waiter(std::move(m), 1, &o));
  ex.run();
  t.abort_for_combinator();
  ex.run();
  EXPECT_TRUE(weak.expired());
}

// Randomized model test: random waits, cancellations, wakes and (rarely) a close, checked
// against a reference std::map of key -> waiter.
TEST(WaitMap, RandomizedModel) {
  for (std::uint64_t seed = 1; seed <= 100; ++seed) {
    std::mt19937_64 rng(seed);
    ManualExecutor ex;
    Map m;
    struct Waiter {
      int key;
      Outcome out;
      JoinHandle<void> h;
      bool cancelled = false;
      std::optional<std::string> expect_value;
      std::optional<WaitError> expect_error;
    };
    std::vector<std::unique_ptr<Waiter>> ws;
    std::map<int, Waiter*> model;  // active waiters by key
    bool closed = false;
    for (int step = 0; step < 300; ++step) {
      int op = static_cast<int>(rng() % 100);
      int key = static_cast<int>(rng() % 8);
      if (op < 40) {  // wait
        auto w = std::make_unique<Waiter>();
        w->key = key;
        w->h = ex.spawn(waiter(&m, key, &w->out));
        ex.run();  // registers (or fails) now
        if (closed) {
          w->expect_error = WaitError::kClosed;
        } else if (model.count(key) != 0) {
          w->expect_error = WaitError::kDuplicate;
        } else {
          model[key] = w.get();
        }
        ws.push_back(std::move(w));
      } else if (op < 55) {  // cancel a random active waiter
        if (model.empty()) continue;
        auto it = model.begin();
        std::advance(it, static_cast<long>(rng() % model.size()));
        it->second->cancelled = true;
        it->second->h.abort_for_combinator();
        model.erase(it);
        ex.run();
      } else if (op < 98) {  // wake
        std::string v = std::to_string(step);
        auto r = m.wake(key, v);
        if (closed) {
          ASSERT_EQ(r.kind, WakeKind::kClosed) << seed;
          ASSERT_EQ(r.value, v);
        } else if (auto it = model.find(key); it != model.end()) {
          ASSERT_EQ(r.kind, WakeKind::kWoke) << seed;
          it->second->expect_value = v;
          model.erase(it);
        } else {
          ASSERT_EQ(r.kind, WakeKind::kNoMatch) << seed;
          ASSERT_EQ(r.value, v);
        }
        if (rng() % 2) ex.run();
      } else {
        m.close();
        closed = true;
        for (auto& [k, w] : model) w->expect_error = WaitError::kClosed;
        model.clear();
      }
      ASSERT_EQ(m.waiting(), model.size()) << seed;
    }
    ex.run();
    for (auto& w : ws) {
      if (w->cancelled) {
        EXPECT_FALSE(w->out.done) << seed;
        continue;
      }
      if (w->expect_value) {
        EXPECT_EQ(w->out.value, w->expect_value) << seed;
      } else if (w->expect_error) {
        EXPECT_EQ(w->out.error, w->expect_error) << seed;
      } else {
        EXPECT_FALSE(w->out.done) << seed;  // still waiting
      }
    }
    for (auto& [k, w] : model) w->h.abort_for_combinator();
    ex.run();
  }
}

// --- TSan stress -----------------------------------------------------------------------------

using IntMap = WaitMap<int, int>;

Task<long> stress_waiter(IntMap* m, int base, int n) {
  long sum = 0;
  for (int i = 0; i < n; ++i) {
    auto r = co_await m->wait(base + i);
    if (!r) co_return -1;
    sum += *r;
  }
  co_return sum;
}

Task<void> stress_waker(IntMap* m, int base, int n) {
  for (int i = 0; i < n; ++i) {
    // The waiter may not have registered the key yet: retry until it has.
    while (!m->wake(base + i, base + i).woke()) co_await executor::yield_now();
  }
}

TEST(WaitMapStress, AcrossWorkersAndAForeignThread) {
  executor::Runtime rt({.workers = 2});
  IntMap m;
  const int n = 2000;
  auto body = [](IntMap* m, int n) -> Task<long> {
    std::vector<JoinHandle<long>> waiters;
    std::vector<JoinHandle<void>> wakers;
    for (int t = 0; t < 3; ++t) waiters.push_back(executor::spawn(stress_waiter(m, t * n, n)));
    for (int t = 0; t < 2; ++t) wakers.push_back(executor::spawn(stress_waker(m, t * n, n)));
    std::thread foreign([m, n] {
      for (int i = 0; i < n; ++i) {
        while (!m->wake(2 * n + i, 2 * n + i).woke()) std::this_thread::yield();
      }
    });
    long sum = 0;
    for (auto& w : waiters) sum += co_await std::move(w);
    for (auto& w : wakers) co_await std::move(w);
    foreign.join();
    co_return sum;
  };
  long expected = 0;
  for (int i = 0; i < 3 * n; ++i) expected += i;
  EXPECT_EQ(rt.block_on(body(&m, n)), expected);
}

TEST(WaitMapStress, CloseRacesWaitsAndWakes) {
  executor::Runtime rt({.workers = 2});
  for (int round = 0; round < 50; ++round) {
    auto body = [](int round) -> Task<int> {
      IntMap m;
      std::vector<JoinHandle<long>> waiters;
      for (int t = 0; t < 4; ++t)
        waiters.push_back(executor::spawn(stress_waiter(&m, t * 100, 100)));
      auto closer = executor::spawn(
          [](IntMap* m, int spins) -> Task<void> {
            for (int i = 0; i < spins; ++i) co_await executor::yield_now();
            m->close();
          },
          &m, round % 10);
      for (int i = 0; i < 400; ++i) (void)m.wake(i, i);
      co_await std::move(closer);
      int closed = 0;
      for (auto& w : waiters) closed += (co_await std::move(w)) == -1 ? 1 : 0;
      co_return closed;
    };
    int closed = rt.block_on(body(round));
    EXPECT_LE(closed, 4);
  }
}

}  // namespace
