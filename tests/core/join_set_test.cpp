// JoinSet: completion order, results and exceptions, abort_all, both destructor policies,
// pruning without joining, join_next cancelled while suspended, bad use; JoinHandle::abort.
#include <executor/executor.hpp>
#include <executor/join_set.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <stdexcept>
#include <thread>
#include <vector>

namespace {

using namespace std::chrono_literals;
using executor::CancellationToken;
using executor::Joined;
using executor::JoinHandle;
using executor::JoinSet;
using executor::OnDrop;
using executor::Runtime;
using executor::Task;

Task<int> when_cancelled(CancellationToken t, int v) {
  co_await t.cancelled();
  co_return v;
}

TEST(JoinSet, JoinsInCompletionOrder) {
  Runtime rt({.workers = 2});
  rt.block_on([]() -> Task<void> {
    JoinSet<int> set;
    std::vector<CancellationToken> go(4);
    std::vector<std::uint64_t> ids;
    for (int i = 0; i < 4; ++i) ids.push_back(set.spawn(when_cancelled, go[i], i));
    EXPECT_EQ(set.size(), 4u);
    for (int i : {2, 0, 3, 1}) {
      go[i].cancel();
      std::optional<Joined<int>> j = co_await set.join_next();
      EXPECT_TRUE(j.has_value());
      if (!j) co_return;
      EXPECT_FALSE(j->cancelled());
      EXPECT_EQ(j->id(), ids[i]);
      EXPECT_EQ(std::move(*j).get(), i);
    }
    EXPECT_TRUE(set.empty());
    std::optional<Joined<int>> none = co_await set.join_next();  // empty: at once
    EXPECT_FALSE(none.has_value());
  }());
}

Task<void> throws_after_yield() {
  co_await executor::yield_now();
  throw std::invalid_argument("bad task");
}

TEST(JoinSet, ExceptionsComeBackFromGet) {
  Runtime rt({.workers = 2});
  rt.block_on([]() -> Task<void> {
    JoinSet<void> set;
    set.spawn(throws_after_yield());
    std::optional<Joined<void>> j = co_await set.join_next();
    EXPECT_TRUE(j.has_value() && j->failed() && !j->cancelled());
    EXPECT_THROW(std::move(*j).get(), std::invalid_argument);
  }());
}

// Counts live instances: proves an aborted task's frame (and what it held) was destroyed.
struct Probe {
  explicit Probe(std::atomic<int>* live) : live(live) { live->fetch_add(1); }
  Probe(const Probe&) = delete;
  ~Probe() { live->fetch_sub(1); }
  std::atomic<int>* live;
};

Task<int> hold_forever(std::atomic<int>* live) {
  Probe p(live);
  co_await executor::sleep(1h);
  co_return 0;
}

Task<int> quick(int v) {
  co_return v;
}

TEST(JoinSet, AbortAllCancelsTheRunningAndKeepsTheFinished) {
  Runtime rt({.workers = 2});
  std::atomic<int> live{0};
  rt.block_on([](std::atomic<int>* live) -> Task<void> {
    JoinSet<int> set;
    set.spawn(quick, 7);
    for (int i = 0; i < 20; ++i) set.spawn(hold_forever, live);
    while (live->load() < 20) co_await executor::sleep(1ms);
    set.abort_all();
    int cancelled = 0, values = 0;
    while (std::optional<Joined<int>> j = co_await set.join_next()) {
      if (j->cancelled()) {
        ++cancelled;
        EXPECT_THROW(std::move(*j).get(), executor::TaskCancelled);
      } else {
        EXPECT_EQ(std::move(*j).get(), 7);
        ++values;
      }
    }
    EXPECT_EQ(cancelled, 20);
    EXPECT_EQ(values, 1);
    EXPECT_EQ(live->load(), 0);
  }(&live));
}

TEST(JoinSet, DropAbortsByDefault) {
  Runtime rt({.workers = 2});
  std::atomic<int> live{0};
  rt.block_on([](std::atomic<int>* live) -> Task<void> {
    {
      JoinSet<int> set;
      for (int i = 0; i < 10; ++i) set.spawn(hold_forever, live);
      set.spawn(quick, 1);  // finished and never joined: freed with the set
      while (live->load() < 10) co_await executor::sleep(1ms);
    }
    for (int i = 0; i < 5000 && live->load() != 0; ++i) co_await executor::sleep(1ms);
    EXPECT_EQ(live->load(), 0);
  }(&live));
}

Task<void> finish_when(CancellationToken t, std::atomic<int>* done) {
  co_await t.cancelled();
  co_await executor::yield_now();
  done->fetch_add(1);
}

TEST(JoinSet, DropWithDetachLetsTasksFinish) {
  Runtime rt({.workers = 2});
  std::atomic<int> done{0};
  rt.block_on([](std::atomic<int>* done) -> Task<void> {
    CancellationToken go;
    {
      JoinSet<void> set(OnDrop::kDetach);
      for (int i = 0; i < 10; ++i) set.spawn(finish_when, go, done);
    }
    go.cancel();
    for (int i = 0; i < 5000 && done->load() != 10; ++i) co_await executor::sleep(1ms);
    EXPECT_EQ(done->load(), 10);
  }(&done));
}

TEST(JoinSet, PruneWithTryJoinNext) {
  Runtime rt({.workers = 2});
  rt.block_on([]() -> Task<void> {
    JoinSet<int> set;
    long sum = 0;
    for (int i = 0; i < 2000; ++i) {
      set.spawn(quick, i);
      while (std::optional<Joined<int>> j = set.try_join_next()) sum += std::move(*j).get();
      EXPECT_LE(set.size(), static_cast<std::size_t>(i + 1));
    }
    while (std::optional<Joined<int>> j = co_await set.join_next()) sum += std::move(*j).get();
    EXPECT_EQ(sum, 1999L * 2000 / 2);
    EXPECT_EQ(set.size(), 0u);
  }());
}

TEST(JoinSet, JoinNextCancelledWhileSuspendedLosesNothing) {
  Runtime rt({.workers = 2});
  rt.block_on([]() -> Task<void> {
    JoinSet<int> set;
    CancellationToken go;
    set.spawn(when_cancelled, go, 5);
    // The waiting join_next() is destroyed by the timeout (its waiter withdrawn)...
    auto r = co_await executor::timeout(10ms, set.join_next());
    EXPECT_EQ(r.status().code(), absl::StatusCode::kDeadlineExceeded);
    // ...and under a token; then the task finishes and is still there.
    CancellationToken stop;
    JoinHandle<void> canceller = executor::spawn(
        [](CancellationToken t) -> Task<void> {
          co_await executor::sleep(5ms);
          t.cancel();
        },
        stop);
    auto c = co_await executor::run_until_cancelled(stop, set.join_next());
    EXPECT_TRUE(absl::IsCancelled(c.status()));
    co_await std::move(canceller);
    EXPECT_EQ(set.size(), 1u);
    go.cancel();
    std::optional<Joined<int>> j = co_await set.join_next();
    EXPECT_EQ(std::move(*j).get(), 5);
  }());
}

TEST(JoinSet, SpawnWithoutARuntimeThrowsAndAddsNothing) {
  JoinSet<int> set;
  EXPECT_THROW(set.spawn(quick(1)), std::logic_error);
  EXPECT_EQ(set.size(), 0u);
  EXPECT_FALSE(set.try_join_next().has_value());
}

TEST(JoinHandle, AbortStopsOneTask) {
  Runtime rt({.workers = 2});
  std::atomic<int> live{0};
  rt.block_on([](std::atomic<int>* live) -> Task<void> {
    JoinHandle<int> h = executor::spawn(hold_forever, live);
    while (live->load() < 1) co_await executor::sleep(1ms);
    h.abort();
    h.abort();  // twice: nothing more
    bool cancelled = false;
    try {
      (void)co_await std::move(h);
    } catch (const executor::TaskCancelled&) {
      cancelled = true;
    }
    EXPECT_TRUE(cancelled);
    EXPECT_EQ(live->load(), 0);
    // A finished task keeps its result.
    JoinHandle<int> done = executor::spawn(quick, 3);
    while (!done.is_finished()) co_await executor::sleep(1ms);
    done.abort();
    EXPECT_EQ(co_await std::move(done), 3);
    // Abort then drop: the task is still stopped.
    JoinHandle<int> dropped = executor::spawn(hold_forever, live);
    while (live->load() < 1) co_await executor::sleep(1ms);
    dropped.abort();
    dropped = JoinHandle<int>();
    for (int i = 0; i < 5000 && live->load() != 0; ++i) co_await executor::sleep(1ms);
    EXPECT_EQ(live->load(), 0);
    JoinHandle<int> empty;
    empty.abort();  // nothing
  }(&live));
}

}  // namespace
