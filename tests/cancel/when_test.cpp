// when_all / when_any: results, concurrency, exception policy, losers cancelled and released,
// the combinator itself destroyed mid-wait, and races (tsan).
#include <executor/when_all.hpp>
#include <executor/when_any.hpp>

#include <executor/executor.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>
#include <variant>

namespace {

using namespace std::chrono_literals;
using executor::CancellationToken;
using executor::JoinHandle;
using executor::Runtime;
using executor::Task;

#if defined(EXECUTOR_SANITIZER_BUILD)
constexpr int kScale = 5;
#else
constexpr int kScale = 1;
#endif

std::size_t listeners(const CancellationToken& t) {
  return executor::detail::cancel_state_listeners(t.state_for_internal_use());
}

Task<int> value_after(std::chrono::milliseconds d, int v) {
  co_await executor::sleep(d);
  co_return v;
}

Task<int> hold_then(std::shared_ptr<int> resource, std::chrono::milliseconds d, int v) {
  co_await executor::sleep(d);
  co_return v + *resource;
}

Task<int> throw_after(std::chrono::milliseconds d, std::string what) {
  co_await executor::sleep(d);
  throw std::runtime_error(what);
}

// --- the combinator's own frame destroyed mid-wait (first) ----------------------------------

TEST(WhenAll, DestroyedMidWaitAbortsItsChildren) {
  Runtime rt({.workers = 2});
  auto resource = std::make_shared<int>(0);
  // Returns how many references are left besides the test's and this frame's own.
  auto body = [](std::shared_ptr<int> r) -> Task<long> {
    auto outer = [](std::shared_ptr<int> r) -> Task<void> {
      (void)co_await executor::when_all(hold_then(r, 10s, 1), hold_then(r, 10s, 2));
    };
    auto h = executor::spawn(outer, r);
    while (r.use_count() < 5) co_await executor::sleep(1ms);  // outer's copy + both children's
    h.abort_for_combinator();
    try {
      co_await std::move(h);
    } catch (const executor::TaskCancelled&) {
    }
    // The children were aborted (asynchronously, by a worker): the resource comes back.
    for (int i = 0; i < 2000 && r.use_count() > 2; ++i) co_await executor::sleep(1ms);
    co_return r.use_count() - 2;
  };
  EXPECT_EQ(rt.block_on(body(resource)), 0);
}

TEST(WhenAny, InsideATimeoutThatFiresEverythingIsReleased) {
  Runtime rt({.workers = 2});
  auto resource = std::make_shared<int>(0);
  CancellationToken never;
  auto body = [&]() -> Task<absl::StatusCode> {
    auto r = co_await executor::timeout(
        10ms, executor::when_any(hold_then(resource, 10s, 1), never.cancelled()));
    for (int i = 0; i < 2000 && (resource.use_count() > 1 || listeners(never) > 0); ++i) {
      co_await executor::sleep(1ms);
    }
    co_return r.status().code();
  };
  EXPECT_EQ(rt.block_on(body()), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(resource.use_count(), 1);
  EXPECT_EQ(listeners(never), 0u);
}

// --- when_all -----------------------------------------------------------------------------

TEST(WhenAll, TupleOfResultsInArgumentOrder) {
  Runtime rt({.workers = 2});
  auto body = []() -> Task<bool> {
    auto [a, b, c] = co_await executor::when_all(value_after(20ms, 1), value_after(1ms, 2),
                                                 executor::sleep(1ms));
    static_assert(std::is_same_v<decltype(c), std::monostate>);
    co_return a == 1 && b == 2;
  };
  EXPECT_TRUE(rt.block_on(body()));
}

TEST(WhenAll, NoArgumentsAndJoinHandles) {
  Runtime rt({.workers = 2});
  auto body = []() -> Task<int> {
    std::tuple<> none = co_await executor::when_all();
    (void)none;
    JoinHandle<int> h = executor::spawn(value_after(1ms, 40));
    auto [x, y] = co_await executor::when_all(std::move(h), value_after(1ms, 2));
    co_return x + y;
  };
  EXPECT_EQ(rt.block_on(body()), 42);
}

TEST(WhenAll, RunsConcurrently) {
  Runtime rt({.workers = 2});
  auto body = []() -> Task<bool> {
    CancellationToken t;
    auto waiter = [](CancellationToken t) -> Task<int> {
      co_await t.cancelled();
      co_return 1;
    };
    auto canceller = [](CancellationToken t) -> Task<int> {
      co_await executor::sleep(1ms);
      t.cancel();
      co_return 2;
    };
    // Sequential execution would never finish the first; the timeout bounds a failing run.
    auto r = co_await executor::timeout(10s, executor::when_all(waiter(t), canceller(t)));
    co_return r.ok() && std::get<0>(*r) == 1 && std::get<1>(*r) == 2;
  };
  EXPECT_TRUE(rt.block_on(body()));
}

TEST(WhenAll, FirstExceptionPropagatesAfterAllFinish) {
  Runtime rt({.workers = 2});
  auto finished = std::make_shared<std::atomic<int>>(0);
  auto body = [](std::shared_ptr<std::atomic<int>> f) -> Task<std::string> {
    auto slow_ok = [](std::shared_ptr<std::atomic<int>> f) -> Task<void> {
      co_await executor::sleep(30ms);
      f->store(1);
    };
    try {
      // Listed first but fails later: the earlier failure ("first") is the one propagated.
      (void)co_await executor::when_all(throw_after(15ms, "second"), slow_ok(f),
                                        throw_after(1ms, "first"));
    } catch (const std::runtime_error& e) {
      EXPECT_EQ(f->load(), 1);  // waited for every child
      co_return e.what();
    }
    co_return "no exception";
  };
  EXPECT_EQ(rt.block_on(body(finished)), "first");
}

TEST(WhenAll, NonStdExceptionPropagates) {
  Runtime rt({.workers = 2});
  auto body = []() -> Task<int> {
    auto thrower = []() -> Task<void> {
      co_await executor::yield_now();
      throw 7;
    };
    try {
      (void)co_await executor::when_all(thrower(), value_after(1ms, 1));
    } catch (int v) {
      co_return v;
    }
    co_return 0;
  };
  EXPECT_EQ(rt.block_on(body()), 7);
}

TEST(WhenAll, NoRuntimeIsAnErrorWhenAwaitedNotWhenCreated) {
  auto t = executor::when_all(value_after(1ms, 1));  // lazy: nothing spawned, nothing leaks
  EXPECT_TRUE(t.valid());
}

// --- when_any -----------------------------------------------------------------------------

TEST(WhenAny, FirstWinsAndLosersAreReleasedBeforeReturn) {
  Runtime rt({.workers = 2});
  auto resource = std::make_shared<int>(100);
  CancellationToken never;
  auto body = [&]() -> Task<int> {
    auto r = co_await executor::when_any(hold_then(resource, 10s, 1), value_after(2ms, 2),
                                         never.cancelled(), executor::sleep(10s));
    // Losers were aborted and joined: nothing of theirs is left.
    EXPECT_EQ(resource.use_count(), 1);
    EXPECT_EQ(listeners(never), 0u);
    EXPECT_EQ(r.index(), 1u);
    co_return std::get<1>(r);
  };
  EXPECT_EQ(rt.block_on(body()), 2);
}

TEST(WhenAny, SameTypesAreTellApartByIndex) {
  Runtime rt({.workers = 2});
  auto body = []() -> Task<std::size_t> {
    auto r =
        co_await executor::when_any(value_after(10s, 1), value_after(1ms, 2), value_after(10s, 3));
    EXPECT_EQ(std::get<1>(r), 2);
    co_return r.index();
  };
  EXPECT_EQ(rt.block_on(body()), 1u);
}

TEST(WhenAny, WinnersExceptionPropagatesAndLosersAreCancelled) {
  Runtime rt({.workers = 2});
  auto resource = std::make_shared<int>(0);
  auto body = [&]() -> Task<std::string> {
    try {
      (void)co_await executor::when_any(hold_then(resource, 10s, 1), throw_after(1ms, "boom"));
    } catch (const std::runtime_error& e) {
      EXPECT_EQ(resource.use_count(), 1);
      co_return e.what();
    }
    co_return "no exception";
  };
  EXPECT_EQ(rt.block_on(body()), "boom");
}

TEST(WhenAny, TokenAsACancellationBranch) {
  Runtime rt({.workers = 2});
  CancellationToken stop;
  auto body = [](CancellationToken stop) -> Task<std::size_t> {
    auto h = executor::spawn(
        [](CancellationToken t) -> Task<void> {
          co_await executor::sleep(2ms);
          t.cancel();
        },
        stop);
    auto r = co_await executor::when_any(value_after(10s, 1), stop.cancelled());
    co_await std::move(h);
    co_return r.index();
  };
  EXPECT_EQ(rt.block_on(body(stop)), 1u);
}

TEST(WhenAny, SimultaneousFinishersPickExactlyOneWinner) {
  Runtime rt({.workers = 2});
  for (int i = 0; i < 300 / kScale; ++i) {
    auto quick = [](int v) -> Task<int> {
      co_await executor::yield_now();
      co_return v;
    };
    auto body = [&]() -> Task<int> {
      auto r = co_await executor::when_any(quick(0), quick(1), quick(2));
      EXPECT_EQ(std::visit([](int v) { return v; }, r), static_cast<int>(r.index()));
      co_return static_cast<int>(r.index());
    };
    int w = rt.block_on(body());
    EXPECT_TRUE(w >= 0 && w <= 2);
  }
}

TEST(WhenAny, CancelRacingCompletionUnderLoad) {
  Runtime rt({.workers = 2});
  for (int i = 0; i < 200 / kScale; ++i) {
    CancellationToken t;
    std::thread canceller([&] { t.cancel(); });
    auto body = [&]() -> Task<std::size_t> {
      auto r = co_await executor::when_any(t.cancelled(), executor::yield_now());
      co_return r.index();
    };
    std::size_t w = rt.block_on(body());
    canceller.join();
    EXPECT_LE(w, 1u);
    EXPECT_EQ(listeners(t), 0u);
  }
}

}  // namespace
