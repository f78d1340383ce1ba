// CancellationToken: waiters (including destruction while suspended), callbacks, child tokens,
// bounded growth, and races between cancel() and registration (run these under tsan).
#include <executor/cancellation_token.hpp>
#include <executor/executor.hpp>

#include <gtest/gtest.h>
#include <malloc.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

namespace {

using namespace std::chrono_literals;
using executor::CancellationCallback;
using executor::CancellationRegistration;
using executor::CancellationToken;
using executor::JoinHandle;
using executor::Runtime;
using executor::Task;

#if defined(EXECUTOR_SANITIZER_BUILD)
constexpr int kScale = 10;  // sanitizer builds are ~10x slower: fewer iterations, same checks
#else
constexpr int kScale = 1;
#endif

std::size_t listeners(const CancellationToken& t) {
  return executor::detail::cancel_state_listeners(t.state_for_internal_use());
}

// Polls (bounded) until `pred` holds; returns whether it did.
template <class P>
bool eventually(P pred) {
  for (int i = 0; i < 2000; ++i) {
    if (pred()) return true;
    std::this_thread::sleep_for(1ms);
  }
  return pred();
}

Task<int> wait_for(CancellationToken t) {
  co_await t.cancelled();
  co_return 1;
}

// --- the destroyed-while-suspended case first -------------------------------------------------

TEST(CancellationToken, WaiterDestroyedWhileSuspendedUnlinks) {
  Runtime rt({.workers = 2});
  CancellationToken token;
  auto body = [](CancellationToken token) -> Task<void> {
    JoinHandle<int> h = executor::spawn(wait_for(token));
    while (listeners(token) == 0) co_await executor::yield_now();
    h.abort_for_combinator();  // destroys the waiting frame at its suspension point
    bool cancelled = false;
    try {
      co_await std::move(h);
    } catch (const executor::TaskCancelled&) {
      cancelled = true;
    }
    EXPECT_TRUE(cancelled);
  };
  rt.block_on(body(token));
  EXPECT_EQ(listeners(token), 0u);
  EXPECT_TRUE(token.cancel());  // nothing left to wake: no use-after-free (asan)
}

TEST(CancellationToken, WaiterDestroyedByRuntimeTeardown) {
  CancellationToken token;
  {
    Runtime rt({.workers = 1});
    auto h = rt.spawn(wait_for(token));
    ASSERT_TRUE(eventually([&] { return listeners(token) == 1; }));
  }  // the runtime destroys the suspended frame
  EXPECT_EQ(listeners(token), 0u);
  token.cancel();
}

TEST(CancellationToken, AbortRacingCancelIsSafe) {
  Runtime rt({.workers = 2});
  for (int i = 0; i < 2000 / kScale; ++i) {
    CancellationToken token;
    auto h = rt.spawn(wait_for(token));
    std::thread t([&] { token.cancel(); });
    h.abort_for_combinator();
    auto joiner = [](JoinHandle<int> h) -> Task<int> {
      try {
        co_return co_await std::move(h);
      } catch (const executor::TaskCancelled&) {
        co_return 0;
      }
    };
    int r = rt.block_on(joiner(std::move(h)));
    t.join();
    EXPECT_TRUE(r == 0 || r == 1);
    EXPECT_EQ(listeners(token), 0u);
  }
}

// --- basics -------------------------------------------------------------------------------

TEST(CancellationToken, CancelIsIdempotentAndSharedByCopies) {
  CancellationToken a;
  CancellationToken b = a;
  CancellationToken c;
  c = b;
  CancellationToken moved = std::move(c);
  EXPECT_FALSE(a.is_cancelled());
  EXPECT_TRUE(b.cancel());
  EXPECT_FALSE(a.cancel());  // cancelling twice: no effect, reported
  EXPECT_FALSE(b.cancel());
  EXPECT_TRUE(a.is_cancelled());
  EXPECT_TRUE(c.is_cancelled());  // moving copies: the source stays valid
  EXPECT_TRUE(moved.is_cancelled());
  EXPECT_TRUE(a == moved);
  EXPECT_FALSE(a == CancellationToken());
}

TEST(CancellationToken, AwaitWakesOnCancelFromAnotherThread) {
  Runtime rt({.workers = 2});
  CancellationToken token;
  auto h = rt.spawn(wait_for(token));
  ASSERT_TRUE(eventually([&] { return listeners(token) == 1; }));
  std::thread([token]() mutable { token.cancel(); }).join();
  auto join = [](JoinHandle<int> h) -> Task<int> {
    co_return co_await std::move(h);
  };
  EXPECT_EQ(rt.block_on(join(std::move(h))), 1);
  EXPECT_EQ(listeners(token), 0u);
}

TEST(CancellationToken, AwaitOnCancelledTokenCompletesImmediately) {
  Runtime rt({.workers = 1});
  CancellationToken token;
  token.cancel();
  EXPECT_EQ(rt.block_on(wait_for(token)), 1);
}

TEST(CancellationToken, ManyWaitersAllWake) {
  Runtime rt({.workers = 2});
  CancellationToken token;
  constexpr int kWaiters = 100;  // more than one wake batch
  auto body = [](CancellationToken token) -> Task<int> {
    std::vector<JoinHandle<int>> hs;
    for (int i = 0; i < kWaiters; ++i) hs.push_back(executor::spawn(wait_for(token)));
    while (listeners(token) < kWaiters) co_await executor::sleep(1ms);
    token.cancel();
    int sum = 0;
    for (auto& h : hs) sum += co_await std::move(h);
    co_return sum;
  };
  EXPECT_EQ(rt.block_on(body(token)), kWaiters);
}

TEST(CancellationToken, WaiterSeesWritesMadeBeforeCancel) {
  Runtime rt({.workers = 2});
  for (int i = 0; i < 200; ++i) {
    CancellationToken token;
    auto data = std::make_shared<int>(0);  // plain int: tsan checks the ordering
    auto reader = [](CancellationToken t, std::shared_ptr<int> d) -> Task<int> {
      co_await t.cancelled();
      co_return *d;
    };
    auto h = rt.spawn(reader(token, data));
    std::thread w([&] {
      *data = 42;
      token.cancel();
    });
    auto join = [](JoinHandle<int> h) -> Task<int> {
      co_return co_await std::move(h);
    };
    EXPECT_EQ(rt.block_on(join(std::move(h))), 42);
    w.join();
  }
}

// --- callbacks ----------------------------------------------------------------------------

TEST(CancellationToken, CallbackRunsOnceOnCancel) {
  CancellationToken token;
  int runs = 0;
  CancellationCallback cb(token, [&] { ++runs; });
  EXPECT_EQ(runs, 0);
  token.cancel();
  EXPECT_EQ(runs, 1);
  token.cancel();
  EXPECT_EQ(runs, 1);
}

TEST(CancellationToken, CallbackOnAlreadyCancelledTokenRunsImmediately) {
  CancellationToken token;
  token.cancel();
  int runs = 0;
  CancellationCallback cb(token, [&] { ++runs; });
  EXPECT_EQ(runs, 1);
  auto reg = token.on_cancel([&] { ++runs; });
  EXPECT_EQ(runs, 2);
  EXPECT_EQ(listeners(token), 0u);
}

TEST(CancellationToken, DestroyedRegistrationNeverRuns) {
  CancellationToken token;
  int runs = 0;
  {
    CancellationCallback cb(token, [&] { ++runs; });
    auto reg = token.on_cancel([&] { ++runs; });
    EXPECT_EQ(listeners(token), 2u);
  }
  EXPECT_EQ(listeners(token), 0u);
  auto reg = token.on_cancel([&] { runs += 10; });
  reg.reset();
  EXPECT_FALSE(reg.valid());
  token.cancel();
  EXPECT_EQ(runs, 0);
}

TEST(CancellationToken, RegistrationIsMovable) {
  CancellationToken token;
  int runs = 0;
  CancellationRegistration outer;
  {
    auto reg = token.on_cancel([&] { ++runs; });
    outer = std::move(reg);
  }
  EXPECT_TRUE(outer.valid());
  token.cancel();
  EXPECT_EQ(runs, 1);
}

TEST(CancellationToken, CallbacksRunInRegistrationOrder) {
  CancellationToken token;
  std::vector<int> order;
  CancellationCallback a(token, [&] { order.push_back(1); });
  CancellationCallback b(token, [&] { order.push_back(2); });
  CancellationCallback c(token, [&] { order.push_back(3); });
  token.cancel();
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
}

TEST(CancellationToken, CallbackMayDestroyItsOwnRegistration) {
  CancellationToken token;
  CancellationRegistration reg;
  int runs = 0;
  reg = token.on_cancel([&] {
    ++runs;
    reg.reset();  // frees this very callback object: cancel() must not touch it afterwards
  });
  CancellationCallback later(token, [&] { ++runs; });
  token.cancel();
  EXPECT_EQ(runs, 2);
  EXPECT_FALSE(reg.valid());
}

TEST(CancellationToken, CallbackMayCancelAndRegisterOnTheSameToken) {
  CancellationToken token;
  int inner = 0;
  CancellationRegistration nested;
  CancellationCallback cb(token, [&] {
    EXPECT_FALSE(token.cancel());                // re-entrant cancel: no-op
    nested = token.on_cancel([&] { ++inner; });  // already cancelled: runs now
  });
  EXPECT_TRUE(token.cancel());
  EXPECT_EQ(inner, 1);
}

TEST(CancellationToken, UnregisterWaitsForACallbackRunningOnAnotherThread) {
  for (int i = 0; i < 20; ++i) {
    CancellationToken token;
    std::atomic<int> phase{0};
    auto state = std::make_unique<int>(0);
    auto reg =
        std::make_unique<CancellationRegistration>(token.on_cancel([&phase, s = state.get()] {
          phase.store(1);
          std::this_thread::sleep_for(2ms);
          *s = 7;  // must happen before the registration's destructor returns
          phase.store(2);
        }));
    std::thread canceller([&] { token.cancel(); });
    while (phase.load() == 0) std::this_thread::yield();
    reg.reset();  // waits for the running callback
    EXPECT_EQ(phase.load(), 2);
    EXPECT_EQ(*state, 7);
    state.reset();
    canceller.join();
  }
}

// --- child tokens -------------------------------------------------------------------------

TEST(CancellationToken, ChildIsCancelledWithItsParent) {
  CancellationToken parent;
  CancellationToken child = parent.child();
  CancellationToken grandchild = child.child();
  int runs = 0;
  CancellationCallback cb(grandchild, [&] { ++runs; });
  parent.cancel();
  EXPECT_TRUE(child.is_cancelled());
  EXPECT_TRUE(grandchild.is_cancelled());
  EXPECT_EQ(runs, 1);
}

TEST(CancellationToken, ChildCancelDoesNotTouchTheParent) {
  CancellationToken parent;
  CancellationToken child = parent.child();
  CancellationToken sibling = parent.child();
  EXPECT_EQ(listeners(parent), 2u);
  EXPECT_TRUE(child.cancel());
  EXPECT_FALSE(parent.is_cancelled());
  EXPECT_FALSE(sibling.is_cancelled());
  EXPECT_EQ(listeners(parent), 1u);  // a cancelled child leaves the parent's list at once
}

TEST(CancellationToken, ChildOfCancelledParentStartsCancelled) {
  CancellationToken parent;
  parent.cancel();
  CancellationToken child = parent.child();
  EXPECT_TRUE(child.is_cancelled());
  EXPECT_EQ(listeners(parent), 0u);
}

TEST(CancellationToken, ChildWaiterWakesWhenParentIsCancelled) {
  Runtime rt({.workers = 2});
  CancellationToken parent;
  auto body = [](CancellationToken parent) -> Task<int> {
    auto h = executor::spawn(wait_for(parent.child()));  // the child lives only in the task
    while (listeners(parent) == 0) co_await executor::yield_now();
    co_await executor::sleep(1ms);
    parent.cancel();
    co_return co_await std::move(h);
  };
  EXPECT_EQ(rt.block_on(body(parent)), 1);
  EXPECT_EQ(listeners(parent), 0u);
}

TEST(CancellationToken, DroppedChildrenDoNotGrowTheParent) {
  CancellationToken parent;
  const int n = 1'000'000 / kScale;
#if !defined(EXECUTOR_SANITIZER_BUILD)
  malloc_trim(0);
  const std::size_t before = mallinfo2().uordblks;
#endif
  std::size_t max_listeners = 0;
  for (int i = 0; i < n; ++i) {
    CancellationToken c = parent.child();
    CancellationToken gc = c.child();
    if (i % 3 == 0) gc.cancel();  // some cancelled-and-dropped subtrees too
    if (i % 100'000 == 0) max_listeners = std::max(max_listeners, listeners(parent));
  }
  EXPECT_LE(max_listeners, 1u);
  EXPECT_EQ(listeners(parent), 0u);
#if !defined(EXECUTOR_SANITIZER_BUILD)
  const std::size_t after = mallinfo2().uordblks;
  // A leak of even one state per child would be > 100 MB here.
  EXPECT_LT(after, before + (1u << 20)) << "heap grew from " << before << " to " << after;
#endif
  EXPECT_TRUE(parent.cancel());
}

TEST(CancellationToken, LongChainReleasesWithoutRecursion) {
  std::optional<CancellationToken> leaf;
  {
    CancellationToken root;
    CancellationToken t = root;
    for (int i = 0; i < 100'000; ++i) t = t.child();
    leaf = t;
  }
  leaf.reset();  // frees 100k states iteratively (a recursive release would overflow the stack)
}

// --- races (tsan) -------------------------------------------------------------------------

TEST(CancellationToken, ConcurrentCancelExactlyOneWins) {
  for (int i = 0; i < 500 / kScale; ++i) {
    CancellationToken token;
    std::atomic<int> runs{0};
    CancellationCallback cb(token, [&] { runs.fetch_add(1); });
    std::atomic<int> wins{0};
    std::vector<std::thread> ts;
    for (int t = 0; t < 4; ++t) ts.emplace_back([&] { wins += token.cancel() ? 1 : 0; });
    for (auto& t : ts) t.join();
    EXPECT_EQ(wins.load(), 1);
    EXPECT_EQ(runs.load(), 1);
  }
}

TEST(CancellationToken, RegisterRacingCancelRunsEachCallbackAtMostOnce) {
  for (int i = 0; i < 300 / kScale; ++i) {
    CancellationToken token;
    constexpr int kRegs = 64;
    std::vector<std::atomic<int>> runs(kRegs);
    std::vector<std::atomic<int>> late(kRegs);
    std::atomic<bool> go{false};
    std::thread registrar([&] {
      while (!go.load()) std::this_thread::yield();
      for (int r = 0; r < kRegs; ++r) {
        bool was_cancelled = token.is_cancelled();
        auto reg = token.on_cancel([&runs, r] { runs[r].fetch_add(1); });
        // Registered after the cancellation: it must have run in on_cancel itself.
        if (was_cancelled) late[r].store(runs[r].load() == 1 ? 1 : 2);
      }
    });
    go.store(true);
    token.cancel();
    registrar.join();
    for (int r = 0; r < kRegs; ++r) {
      EXPECT_LE(runs[r].load(), 1);
      EXPECT_NE(late[r].load(), 2) << "registration " << r;
    }
    EXPECT_EQ(listeners(token), 0u);
  }
}

TEST(CancellationToken, WaitersRegisteringWhileAnotherThreadCancels) {
  Runtime rt({.workers = 2});
  for (int i = 0; i < 300 / kScale; ++i) {
    CancellationToken token;
    auto body = [](CancellationToken token) -> Task<int> {
      std::vector<JoinHandle<int>> hs;
      for (int k = 0; k < 8; ++k) hs.push_back(executor::spawn(wait_for(token)));
      int sum = 0;
      for (auto& h : hs) sum += co_await std::move(h);
      co_return sum;
    };
    std::thread canceller([&] { token.cancel(); });
    EXPECT_EQ(rt.block_on(body(token)), 8);
    canceller.join();
    EXPECT_EQ(listeners(token), 0u);
  }
}

TEST(CancellationToken, ChildrenComingAndGoingWhileParentCancels) {
  for (int i = 0; i < 200 / kScale; ++i) {
    CancellationToken parent;
    std::atomic<int> child_runs{0};
    std::atomic<bool> go{false};
    std::vector<std::thread> ts;
    for (int t = 0; t < 3; ++t) {
      ts.emplace_back([&] {
        while (!go.load()) std::this_thread::yield();
        for (int k = 0; k < 50; ++k) {
          CancellationToken c = parent.child();
          CancellationCallback cb(c, [&] { child_runs.fetch_add(1); });
          if (k % 2 == 0) c.cancel();
        }
      });
    }
    go.store(true);
    parent.cancel();
    for (auto& t : ts) t.join();
    EXPECT_LE(child_runs.load(), 150);
    EXPECT_EQ(listeners(parent), 0u);
  }
}

}  // namespace
