// spawn / JoinHandle: results, exceptions, detach semantics, many tasks, callables.
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
using executor::JoinHandle;
using executor::Runtime;
using executor::Task;

Task<int> square(int x) {
  co_return x* x;
}

TEST(Spawn, JoinValue) {
  Runtime rt({.workers = 2});
  auto body = []() -> Task<int> {
    JoinHandle<int> h = executor::spawn(square(7));
    co_return co_await h.join();
  };
  EXPECT_EQ(rt.block_on(body()), 49);
}

TEST(Spawn, JoinByMovingTheHandle) {
  Runtime rt({.workers = 2});
  auto body = []() -> Task<int> {
    co_return co_await executor::spawn(square(5));
  };
  EXPECT_EQ(rt.block_on(body()), 25);
}

TEST(Spawn, JoinVoidAndException) {
  Runtime rt({.workers = 2});
  auto thrower = []() -> Task<void> {
    co_await executor::yield_now();
    throw std::invalid_argument("bad");
  };
  auto body = [&]() -> Task<std::string> {
    try {
      co_await executor::spawn(thrower());
    } catch (const std::invalid_argument& e) {
      co_return e.what();
    }
    co_return "";
  };
  EXPECT_EQ(rt.block_on(body()), "bad");
}

Task<int> add(std::unique_ptr<int> a, std::string b) {
  co_await executor::yield_now();
  co_return *a + static_cast<int>(b.size());
}

TEST(Spawn, CallableFormMovesArgumentsIntoTheFrame) {
  Runtime rt({.workers = 2});
  auto body = []() -> Task<int> {
    std::string s = "four";
    auto h = executor::spawn(add, std::make_unique<int>(10), s);
    s.clear();  // the task has its own copy
    co_return co_await std::move(h);
  };
  EXPECT_EQ(rt.block_on(body()), 14);
}

TEST(Spawn, CapturingLambdaSurvivesItsTemporary) {
  Runtime rt({.workers = 2});
  auto body = []() -> Task<int> {
    auto big = std::make_shared<int>(99);
    // The lambda object is a temporary here; spawn moves it into the frame.
    auto h = executor::spawn([big]() -> Task<int> {
      co_await executor::sleep(1ms);
      co_return *big;
    });
    co_return co_await std::move(h);
  };
  EXPECT_EQ(rt.block_on(body()), 99);
}

TEST(Spawn, DetachedTaskRunsToCompletion) {
  Runtime rt({.workers = 2});
  auto flag = std::make_shared<std::atomic<int>>(0);
  auto body = [](std::shared_ptr<std::atomic<int>> f) -> Task<void> {
    auto h = executor::spawn(
        [](std::shared_ptr<std::atomic<int>> f) -> Task<void> {
          co_await executor::sleep(20ms);
          f->store(1);
        },
        f);
    h.detach();
    co_return;
  };
  rt.block_on(body(flag));
  for (int i = 0; i < 500 && flag->load() == 0; ++i) std::this_thread::sleep_for(5ms);
  EXPECT_EQ(flag->load(), 1);
}

TEST(Spawn, DroppedHandleDoesNotCancel) {
  Runtime rt({.workers = 2});
  auto flag = std::make_shared<std::atomic<int>>(0);
  auto body = [](std::shared_ptr<std::atomic<int>> f) -> Task<void> {
    {
      auto h = executor::spawn(
          [](std::shared_ptr<std::atomic<int>> f) -> Task<void> {
            co_await executor::sleep(10ms);
            co_await executor::yield_now();
            f->store(1);
          },
          f);
    }  // handle destroyed here
    co_await executor::sleep(100ms);
  };
  rt.block_on(body(flag));
  for (int i = 0; i < 500 && flag->load() == 0; ++i) std::this_thread::sleep_for(5ms);
  EXPECT_EQ(flag->load(), 1);
}

TEST(Spawn, DetachedExceptionIsLoggedWithTaskId) {
  testing::internal::CaptureStderr();
  std::uint64_t id = 0;
  {
    Runtime rt({.workers = 1});
    auto body = [](std::uint64_t* id) -> Task<void> {
      auto h = executor::spawn([]() -> Task<void> {
        throw std::runtime_error("nobody listens");
        co_return;
      }());
      *id = h.id();
      h.detach();
      co_await executor::sleep(20ms);
    };
    rt.block_on(body(&id));
  }
  std::string err = testing::internal::GetCapturedStderr();
  EXPECT_THAT(err, testing::HasSubstr("nobody listens"));
  EXPECT_THAT(err, testing::HasSubstr("task " + std::to_string(id)));
}

TEST(Spawn, MillionTasksComplete) {
  Runtime rt({.workers = 2});
  auto body = []() -> Task<long> {
    std::vector<JoinHandle<int>> hs;
    hs.reserve(1'000'000);
    for (int i = 0; i < 1'000'000; ++i) {
      hs.push_back(executor::spawn([](int i) -> Task<int> { co_return i % 7; }, i));
    }
    long sum = 0;
    for (auto& h : hs) sum += co_await h.join();
    co_return sum;
  };
  long expected = 0;
  for (int i = 0; i < 1'000'000; ++i) expected += i % 7;
  EXPECT_EQ(rt.block_on(body()), expected);
  // block_on's own root task unregisters a moment after it signals the caller.
  for (int i = 0; i < 1000 && rt.live_tasks() != 0; ++i) std::this_thread::sleep_for(1ms);
  EXPECT_EQ(rt.live_tasks(), 0u);
}

TEST(Spawn, SpawnFromForeignThreadUsesDefaultRuntime) {
  Runtime rt({.workers = 2});
  int result = 0;
  std::thread t([&] {
    auto h = executor::spawn(square(9));
    result = rt.block_on([](JoinHandle<int> h) -> Task<int> {
      co_return co_await std::move(h);
    }(std::move(h)));
  });
  t.join();
  EXPECT_EQ(result, 81);
}

TEST(Spawn, NoRuntimeIsAClearError) {
  auto try_spawn = [] {
    auto h = executor::spawn(square(1));
    (void)h;
  };
  EXPECT_THROW(try_spawn(), std::logic_error);
}

TEST(Spawn, JoinEmptyHandleThrows) {
  Runtime rt({.workers = 1});
  auto body = []() -> Task<void> {
    JoinHandle<int> h;
    co_await h.join();
  };
  EXPECT_THROW(rt.block_on(body()), std::logic_error);
}

TEST(Spawn, BlockOnFromWorkerIsRejected) {
  Runtime rt({.workers = 1});
  auto body = [](Runtime* rt) -> Task<bool> {
    try {
      rt->block_on(square(2));
    } catch (const std::logic_error&) {
      co_return true;
    }
    co_return false;
  };
  EXPECT_TRUE(rt.block_on(body(&rt)));
}

}  // namespace
