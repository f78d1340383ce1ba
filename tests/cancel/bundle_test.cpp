// TaskResultBundle: policy (fail fast, then drain), first error with its task, results, zero
// tasks, non-std exceptions, destruction with running tasks, join_all destroyed mid-wait, and
// concurrent completion (tsan).
#include <executor/task_result_bundle.hpp>

#include <executor/executor.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace std::chrono_literals;
using executor::CancellationToken;
using executor::Runtime;
using executor::Task;
using executor::TaskFailed;
using executor::TaskResultBundle;

#if defined(EXECUTOR_SANITIZER_BUILD)
constexpr int kScale = 5;
#else
constexpr int kScale = 1;
#endif

// Runs until the token is cancelled, then returns `v`.
Task<int> loop_until_cancelled(CancellationToken stop, int v) {
  while (!stop.is_cancelled()) co_await executor::sleep(1ms);
  co_return v;
}

Task<void> wait_cancelled(CancellationToken stop, std::shared_ptr<std::atomic<int>> stopped) {
  co_await stop.cancelled();
  stopped->fetch_add(1);
}

Task<int> fail_after(std::chrono::milliseconds d) {
  co_await executor::sleep(d);
  throw std::runtime_error("disk on fire");
}

TEST(TaskResultBundle, JoinAllDestroyedWhileSuspendedUnlinks) {
  Runtime rt({.workers = 2});
  auto body = []() -> Task<int> {
    TaskResultBundle<int> bundle;
    bundle.add(loop_until_cancelled(bundle.token(), 1));
    auto joiner = [](TaskResultBundle<int>* b) -> Task<void> {
      co_await b->join_all();
    };
    auto h = executor::spawn(joiner(&bundle));
    co_await executor::sleep(5ms);  // let the joiner suspend
    h.abort_for_combinator();
    try {
      co_await std::move(h);
    } catch (const executor::TaskCancelled&) {
    }
    EXPECT_EQ(bundle.running(), 1u);  // the task is unaffected
    bundle.cancel();
    co_await bundle.join_all();  // a fresh join works; the destroyed waiter left no trace
    co_return *bundle.result(0);
  };
  EXPECT_EQ(rt.block_on(body()), 1);
}

TEST(TaskResultBundle, ZeroTasksJoinsAtOnce) {
  Runtime rt({.workers = 1});
  auto body = []() -> Task<std::size_t> {
    TaskResultBundle<void> bundle;
    co_await bundle.join_all();
    TaskResultBundle<int> ints;
    co_await ints.join_all();
    co_return bundle.size() + ints.size();
  };
  EXPECT_EQ(rt.block_on(body()), 0u);
}

TEST(TaskResultBundle, AllSucceedAndResultsAreRetrievable) {
  Runtime rt({.workers = 2});
  auto body = []() -> Task<int> {
    TaskResultBundle<int> bundle;
    for (int i = 0; i < 10; ++i) {
      bundle.add(
          [](int x) -> Task<int> {
            co_await executor::sleep(1ms);
            co_return x* x;
          },
          i);
    }
    co_await bundle.join_all();
    int sum = 0;
    for (std::size_t i = 0; i < bundle.size(); ++i) {
      EXPECT_TRUE(bundle.succeeded(i));
      EXPECT_EQ(bundle.error(i), nullptr);
      sum += *bundle.result(i);
    }
    std::optional<int> taken = bundle.take_result(3);
    EXPECT_EQ(taken, 9);
    EXPECT_EQ(bundle.result(3), nullptr);  // taken
    EXPECT_FALSE(bundle.token().is_cancelled());
    co_return sum;
  };
  EXPECT_EQ(rt.block_on(body()), 285);
}

TEST(TaskResultBundle, FirstFailureCancelsTheOthersAndNamesTheTask) {
  Runtime rt({.workers = 2});
  auto body = []() -> Task<void> {
    TaskResultBundle<int> bundle;
    bundle.add("accept", loop_until_cancelled, bundle.token(), 1);
    bundle.add("metrics", loop_until_cancelled(bundle.token(), 2));
    bundle.add("config", fail_after(5ms));
    bool thrown = false;
    try {
      co_await bundle.join_all();
    } catch (const TaskFailed& e) {
      thrown = true;
      EXPECT_EQ(e.index(), 2u);
      EXPECT_EQ(e.name(), "config");
      EXPECT_THAT(e.what(), testing::HasSubstr("task 'config' (#2) failed: disk on fire"));
      EXPECT_THROW(e.rethrow_original(), std::runtime_error);
    }
    EXPECT_TRUE(thrown);
    // Drained: the others stopped cooperatively and their results are there.
    EXPECT_EQ(bundle.running(), 0u);
    EXPECT_TRUE(bundle.token().is_cancelled());
    EXPECT_EQ(*bundle.result(0), 1);
    EXPECT_EQ(*bundle.result(1), 2);
    EXPECT_EQ(bundle.result(2), nullptr);
    EXPECT_NE(bundle.error(2), nullptr);
    // join_all again: the same first failure.
    EXPECT_THROW(co_await bundle.join_all(), TaskFailed);
  };
  rt.block_on(body());
}

TEST(TaskResultBundle, OnlyTheFirstOfSeveralFailuresIsThrown) {
  Runtime rt({.workers = 2});
  auto body = []() -> Task<void> {
    TaskResultBundle<int> bundle;
    bundle.add("late", fail_after(30ms));
    bundle.add("early", fail_after(1ms));
    try {
      co_await bundle.join_all();
      ADD_FAILURE() << "no exception";
    } catch (const TaskFailed& e) {
      EXPECT_EQ(e.name(), "early");
    }
    EXPECT_NE(bundle.error(0), nullptr);  // the later failure is kept too
  };
  rt.block_on(body());
}

TEST(TaskResultBundle, NonStdExceptionIsReported) {
  Runtime rt({.workers = 2});
  auto body = []() -> Task<void> {
    TaskResultBundle<void> bundle;
    bundle.add([]() -> Task<void> {
      co_await executor::yield_now();
      throw 42;
    });
    try {
      co_await bundle.join_all();
      ADD_FAILURE() << "no exception";
    } catch (const TaskFailed& e) {
      EXPECT_EQ(e.name(), "");
      EXPECT_THAT(e.what(), testing::HasSubstr("task #0 failed: an exception not derived from"));
      try {
        e.rethrow_original();
      } catch (int v) {
        EXPECT_EQ(v, 42);
      }
    }
    EXPECT_EQ(bundle.name(0), "#0");
  };
  rt.block_on(body());
}

TEST(TaskResultBundle, DestroyingTheBundleLetsTasksRunToCompletion) {
  Runtime rt({.workers = 2});
  auto done = std::make_shared<std::atomic<int>>(0);
  auto body = [](std::shared_ptr<std::atomic<int>> done) -> Task<void> {
    {
      TaskResultBundle<void> bundle;
      for (int i = 0; i < 3; ++i) {
        bundle.add(
            [](std::shared_ptr<std::atomic<int>> d) -> Task<void> {
              co_await executor::sleep(20ms);
              d->fetch_add(1);
            },
            done);
      }
      bundle.add(
          [](CancellationToken t) -> Task<void> {
            co_await executor::sleep(10ms);
            EXPECT_FALSE(t.is_cancelled());  // destruction does not cancel
          },
          bundle.token());
    }  // destroyed with 4 tasks running
    co_await executor::sleep(100ms);
  };
  rt.block_on(body(done));
  EXPECT_EQ(done->load(), 3);
}

TEST(TaskResultBundle, FailuresNobodyCanObserveAreLogged) {
  testing::internal::CaptureStderr();
  {
    Runtime rt({.workers = 2});
    auto body = []() -> Task<void> {
      {
        TaskResultBundle<void> bundle;
        bundle.add("seen", []() -> Task<void> { throw std::runtime_error("reported"); });
        co_await executor::sleep(5ms);
        EXPECT_THROW(co_await bundle.join_all(), TaskFailed);  // observed: not logged
      }
      {
        TaskResultBundle<void> bundle;
        bundle.add("unread", []() -> Task<void> { throw std::runtime_error("never read"); });
        bundle.add("after", []() -> Task<void> {
          co_await executor::sleep(20ms);
          throw std::runtime_error("too late");
        });
        co_await executor::sleep(5ms);
      }  // "unread" is logged now, "after" when it fails
      co_await executor::sleep(60ms);
    };
    rt.block_on(body());
  }
  std::string err = testing::internal::GetCapturedStderr();
  EXPECT_THAT(err, testing::Not(testing::HasSubstr("reported")));
  EXPECT_THAT(err, testing::HasSubstr("task 'unread' (#0) of a destroyed TaskResultBundle"));
  EXPECT_THAT(err, testing::HasSubstr("never read"));
  EXPECT_THAT(err, testing::HasSubstr("task 'after' (#1) of a destroyed TaskResultBundle"));
  EXPECT_THAT(err, testing::HasSubstr("too late"));
}

TEST(TaskResultBundle, ParentTokenStopsTheBundleButFailuresStayInside) {
  Runtime rt({.workers = 2});
  auto body = []() -> Task<int> {
    CancellationToken shutdown;
    auto stopped = std::make_shared<std::atomic<int>>(0);
    TaskResultBundle<void> bundle(shutdown);
    bundle.add(wait_cancelled(bundle.token(), stopped));
    bundle.add(wait_cancelled(bundle.token(), stopped));
    co_await executor::sleep(2ms);
    shutdown.cancel();  // e.g. SIGTERM
    co_await bundle.join_all();

    CancellationToken parent;
    TaskResultBundle<int> failing(parent);
    failing.add(fail_after(1ms));
    EXPECT_THROW(co_await failing.join_all(), TaskFailed);
    EXPECT_FALSE(parent.is_cancelled());
    co_return stopped->load();
  };
  EXPECT_EQ(rt.block_on(body()), 2);
}

TEST(TaskResultBundle, AddAfterJoinAndRejoin) {
  Runtime rt({.workers = 2});
  auto body = []() -> Task<int> {
    TaskResultBundle<int> bundle;
    bundle.add([]() -> Task<int> { co_return 1; });
    co_await bundle.join_all();
    bundle.add([]() -> Task<int> {
      co_await executor::sleep(2ms);
      co_return 2;
    });
    EXPECT_EQ(bundle.running(), 1u);
    co_await bundle.join_all();
    co_return *bundle.result(0) + *bundle.result(1);
  };
  EXPECT_EQ(rt.block_on(body()), 3);
}

TEST(TaskResultBundle, BadInputIsReportedAndLosesNothing) {
  TaskResultBundle<int> bundle;
  EXPECT_THROW(bundle.result(0), std::out_of_range);
  EXPECT_THROW(bundle.succeeded(7), std::out_of_range);
  // No runtime: add() throws like spawn() and the bundle is unchanged.
  EXPECT_THROW(bundle.add([]() -> Task<int> { co_return 1; }), std::logic_error);
  EXPECT_EQ(bundle.size(), 0u);
  EXPECT_EQ(bundle.running(), 0u);
}

TEST(TaskResultBundle, ManyTasksAndJoinersConcurrently) {
  Runtime rt({.workers = 2});
  for (int round = 0; round < 50 / kScale; ++round) {
    auto body = []() -> Task<long> {
      TaskResultBundle<int> bundle;
      constexpr int kTasks = 64;
      for (int i = 0; i < kTasks; ++i) {
        bundle.add(
            [](int x) -> Task<int> {
              co_await executor::yield_now();
              co_return x;
            },
            i);
      }
      // Several joiners at once (some suspend, some find the bundle idle).
      std::vector<executor::JoinHandle<void>> joiners;
      for (int j = 0; j < 4; ++j) {
        joiners.push_back(executor::spawn(
            [](TaskResultBundle<int>* b) -> Task<void> { co_await b->join_all(); }, &bundle));
      }
      co_await bundle.join_all();
      for (auto& j : joiners) co_await std::move(j);
      long sum = 0;
      for (int i = 0; i < kTasks; ++i) sum += *bundle.result(static_cast<std::size_t>(i));
      co_return sum;
    };
    EXPECT_EQ(rt.block_on(body()), 64 * 63 / 2);
  }
}

TEST(TaskResultBundle, FailureRacingCompletionsIsReportedOnce) {
  Runtime rt({.workers = 2});
  for (int round = 0; round < 100 / kScale; ++round) {
    auto body = []() -> Task<std::size_t> {
      TaskResultBundle<void> bundle;
      for (int i = 0; i < 8; ++i) {
        bundle.add(
            [](int i) -> Task<void> {
              co_await executor::yield_now();
              if (i % 3 == 0) throw std::runtime_error("fail " + std::to_string(i));
            },
            i);
      }
      std::size_t failed = 0;
      try {
        co_await bundle.join_all();
      } catch (const TaskFailed& e) {
        EXPECT_EQ(e.index() % 3, 0u);
        failed = 1;
      }
      std::size_t errors = 0;
      for (std::size_t i = 0; i < bundle.size(); ++i) errors += bundle.error(i) ? 1 : 0;
      EXPECT_EQ(errors, 3u);
      co_return failed;
    };
    EXPECT_EQ(rt.block_on(body()), 1u);
  }
}

}  // namespace
