// Runtime lifecycle: teardown with pending tasks, idle CPU, bad options, scheduler stress.
#include <executor/executor.hpp>

#include <gtest/gtest.h>

#include <sys/resource.h>
#include <sys/time.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <thread>
#include <vector>

namespace {

using namespace std::chrono_literals;
using executor::JoinHandle;
using executor::Runtime;
using executor::Task;

double process_cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

// The default runtime (executor::spawn outside tasks) is the most recently constructed live
// one: destroying the newest of two hands the default back to the older, not to none.
Task<std::thread::id> where() {
  co_return std::this_thread::get_id();
}

Task<std::thread::id> join_where(JoinHandle<std::thread::id> h) {
  co_return co_await std::move(h);
}

TEST(Runtime, DestroyingTheNewestMakesTheOlderTheDefault) {
  Runtime older({.workers = 1});
  std::thread::id older_worker = older.block_on(where());
  {
    Runtime newer({.workers = 1});
    JoinHandle<std::thread::id> h = executor::spawn(where);
    EXPECT_NE(newer.block_on(join_where(std::move(h))), older_worker);
  }
  JoinHandle<std::thread::id> h = executor::spawn(where);
  EXPECT_EQ(older.block_on(join_where(std::move(h))), older_worker);
}

TEST(Runtime, IdleRuntimeDoesNotSpin) {
  Runtime rt({.workers = 2});
  rt.block_on([]() -> Task<void> {
    co_return;
  }());
  std::this_thread::sleep_for(50ms);  // let the workers park
  double before = process_cpu_seconds();
  std::this_thread::sleep_for(1s);
  double used = process_cpu_seconds() - before;
  // A spinning worker would burn ~1 s here; parked ones burn ~0.
  EXPECT_LT(used, 0.1) << "CPU seconds used by an idle runtime over 1 s";
}

TEST(Runtime, IdleWithPendingTimerDoesNotSpin) {
  Runtime rt({.workers = 2});
  auto h = rt.spawn([]() -> Task<void> {
    co_await executor::sleep(10s);
  }());
  std::this_thread::sleep_for(50ms);
  double before = process_cpu_seconds();
  std::this_thread::sleep_for(1s);
  EXPECT_LT(process_cpu_seconds() - before, 0.1);
}

TEST(Runtime, TeardownCancelsPendingTasksWithoutLeaks) {
  auto resource = std::make_shared<int>(0);
  {
    Runtime rt({.workers = 2});
    for (int i = 0; i < 100; ++i) {
      rt.spawn([](std::shared_ptr<int> r) -> Task<void> {
          co_await executor::sleep(1h);
          ++*r;
        }(resource))
          .detach();
    }
    // A task waiting on another task that never finishes, holding its handle.
    auto waiter = rt.spawn([]() -> Task<void> {
      co_await executor::spawn([]() -> Task<void> {
        co_await executor::sleep(1h);
      }());
    }());
    // Wait (bounded) until the waiter has run and spawned its child: 100 + waiter + child.
    for (int i = 0; i < 5000 && rt.live_tasks() < 102u; ++i) std::this_thread::sleep_for(1ms);
    EXPECT_GE(rt.live_tasks(), 102u);
  }  // must neither hang nor leak (ASan checks the frames)
  EXPECT_EQ(resource.use_count(), 1);
  EXPECT_EQ(*resource, 0);
}

TEST(Runtime, TeardownWithQueuedTasks) {
  Runtime* rt = new Runtime({.workers = 1});
  for (int i = 0; i < 10'000; ++i) {
    rt->spawn([]() -> Task<void> {
        for (int j = 0; j < 100; ++j) co_await executor::yield_now();
      }())
        .detach();
  }
  delete rt;  // tasks still queued or mid-way are cancelled
}

TEST(Runtime, InvalidOptionsAreRejected) {
  EXPECT_THROW(Runtime({.workers = 1, .ring_entries = 0}), std::invalid_argument);
  auto r = Runtime::create({.workers = 5000});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(Runtime, CreateReportsStatus) {
  auto r = Runtime::create({.workers = 2});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ((*r)->workers(), 2u);
  EXPECT_EQ((*r)->block_on([]() -> Task<int> {
    co_return 3;
  }()),
            3);
}

TEST(Runtime, SequentialRuntimes) {
  for (int i = 0; i < 20; ++i) {
    Runtime rt({.workers = 2});
    EXPECT_EQ(rt.block_on([](int i) -> Task<int> {
      co_return i;
    }(i)),
              i);
  }
}

// Stress: many tasks waking each other across workers through join handles, yields and timers.
TEST(RuntimeStress, CrossWorkerWakeups) {
  Runtime rt({.workers = 4});  // more workers than cores: more interleavings
  auto body = []() -> Task<long> {
    std::vector<JoinHandle<long>> hs;
    for (int i = 0; i < 200; ++i) {
      hs.push_back(executor::spawn(
          [](int i) -> Task<long> {
            long sum = 0;
            for (int j = 0; j < 50; ++j) {
              auto child = executor::spawn([](int v) -> Task<int> {
                if (v % 3 == 0) co_await executor::yield_now();
                co_return v;
              }(j));
              if (j % 7 == 0) co_await executor::sleep(std::chrono::microseconds(50));
              sum += co_await std::move(child);
            }
            co_return sum + i * 0;
          },
          i));
    }
    long total = 0;
    for (auto& h : hs) total += co_await h.join();
    co_return total;
  };
  EXPECT_EQ(rt.block_on(body()), 200L * (49 * 50 / 2));
}

TEST(RuntimeStress, ManyForeignThreadsSpawn) {
  Runtime rt({.workers = 2});
  std::atomic<long> total{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 200; ++i) {
        total += rt.block_on([](int i) -> Task<int> {
          co_await executor::yield_now();
          co_return i;
        }(i));
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(total.load(), 4L * (199 * 200 / 2));
}

TEST(RuntimeStress, JoinRacesCompletion) {
  Runtime rt({.workers = 2});
  auto body = []() -> Task<int> {
    int ok = 0;
    for (int i = 0; i < 20'000; ++i) {
      auto h = executor::spawn([](int i) -> Task<int> {
        co_return i;
      }(i));
      if (i % 2 == 0) co_await executor::yield_now();
      ok += (co_await std::move(h)) == i;
    }
    co_return ok;
  };
  EXPECT_EQ(rt.block_on(body()), 20'000);
}

}  // namespace
