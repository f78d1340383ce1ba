// spawn_blocking and the blocking pool: results, exceptions, wait() off the runtime, abort,
// the thread bound, idle exit, cancellation of a suspended joiner, and a TSan stress test.
#include <executor/executor.hpp>
#include <executor/spawn_blocking.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace std::chrono_literals;
using executor::BlockingJoinHandle;
using executor::BlockingPoolOptions;
using executor::Runtime;
using executor::Task;

// A gate that blocking jobs wait on; open() releases them all.
class Gate {
 public:
  void wait() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return open_; });
  }
  void open() {
    std::lock_guard lock(mu_);
    open_ = true;
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
};

// Restores the default pool options when a test that changed them ends.
struct PoolOptionsGuard {
  ~PoolOptionsGuard() { EXPECT_TRUE(executor::configure_blocking_pool({}).ok()); }
};

// Polls `pred` for up to ~10 s (a bound for a hang, not a timing assertion).
template <class Pred>
bool eventually(Pred pred) {
  for (int i = 0; i < 10000; ++i) {
    if (pred()) return true;
    std::this_thread::sleep_for(1ms);
  }
  return pred();
}

TEST(SpawnBlocking, AwaitValueInsideTask) {
  Runtime rt({.workers = 2});
  auto body = []() -> Task<int> {
    auto h = executor::spawn_blocking([](int a, int b) { return a * b; }, 6, 7);
    co_return co_await std::move(h);
  };
  EXPECT_EQ(rt.block_on(body()), 42);
}

TEST(SpawnBlocking, VoidAndMoveOnlyArguments) {
  Runtime rt({.workers = 2});
  auto seen = std::make_shared<std::atomic<int>>(0);
  auto body = [seen]() -> Task<std::string> {
    // HACK(https://github.com/equeim/tremotesf2/pull/551): GCC 12 double-destroys a
    // capturing lambda temporary inside a co_await expression; name the handle first.
    auto store = executor::spawn_blocking([seen](std::unique_ptr<int> p) { seen->store(*p); },
                                          std::make_unique<int>(5));
    co_await std::move(store);
    auto h = executor::spawn_blocking([](std::string s) { return s + "!"; }, std::string("hi"));
    co_return co_await h.join();
  };
  EXPECT_EQ(rt.block_on(body()), "hi!");
  EXPECT_EQ(seen->load(), 5);
}

TEST(SpawnBlocking, ExceptionPropagatesToJoin) {
  Runtime rt({.workers = 1});
  auto body = []() -> Task<std::string> {
    try {
      auto h = executor::spawn_blocking([]() -> int { throw std::invalid_argument("nope"); });
      co_await std::move(h);
    } catch (const std::invalid_argument& e) {
      co_return e.what();
    }
    co_return "";
  };
  EXPECT_EQ(rt.block_on(body()), "nope");
}

TEST(SpawnBlocking, WaitWithoutAnyRuntime) {
  auto h = executor::spawn_blocking([] { return std::this_thread::get_id(); });
  EXPECT_NE(h.wait(), std::this_thread::get_id());
  EXPECT_FALSE(h.valid());
  EXPECT_THROW(h.wait(), std::logic_error);  // empty handle
}

TEST(SpawnBlocking, WaitOnAWorkerIsRefused) {
  Runtime rt({.workers = 1});
  auto body = []() -> Task<std::string> {
    auto h = executor::spawn_blocking([] { return 1; });
    std::string what;
    try {
      h.wait();
    } catch (const std::logic_error& e) {
      what = e.what();
    }
    int v = co_await std::move(h);  // the handle is still usable after the refusal
    co_return what + std::to_string(v);
  };
  std::string r = rt.block_on(body());
  EXPECT_THAT(r, testing::HasSubstr("runtime worker"));
  EXPECT_THAT(r, testing::EndsWith("1"));
}

TEST(SpawnBlocking, RunsManyJobsConcurrentlyBeyondTheWorkerCount) {
  // 32 jobs that each wait until all 32 have started: only possible if the pool started a
  // thread per job (the runtime has one worker).
  constexpr int kJobs = 32;
  Runtime rt({.workers = 1});
  auto started = std::make_shared<std::atomic<int>>(0);
  auto body = [started]() -> Task<int> {
    std::vector<BlockingJoinHandle<int>> hs;
    for (int i = 0; i < kJobs; ++i) {
      hs.push_back(executor::spawn_blocking([started, i] {
        started->fetch_add(1);
        return eventually([&] { return started->load() == kJobs; }) ? i : -1;
      }));
    }
    int sum = 0;
    for (auto& h : hs) sum += co_await h.join();
    co_return sum;
  };
  EXPECT_EQ(rt.block_on(body()), kJobs * (kJobs - 1) / 2);
}

TEST(SpawnBlocking, RespectsMaxThreads) {
  PoolOptionsGuard guard;
  ASSERT_TRUE(executor::configure_blocking_pool({.max_threads = 2}).ok());
  std::atomic<int> running{0}, peak{0};
  std::vector<BlockingJoinHandle<void>> hs;
  for (int i = 0; i < 12; ++i) {
    hs.push_back(executor::spawn_blocking([&] {
      int now = running.fetch_add(1) + 1;
      int p = peak.load();
      while (now > p && !peak.compare_exchange_weak(p, now)) {
      }
      std::this_thread::sleep_for(2ms);
      running.fetch_sub(1);
    }));
  }
  for (auto& h : hs) h.wait();
  EXPECT_LE(peak.load(), 2);
  EXPECT_GE(peak.load(), 1);
  EXPECT_TRUE(eventually([] { return executor::blocking_pool_stats().threads <= 2; }));
}

TEST(SpawnBlocking, IdleThreadsExit) {
  PoolOptionsGuard guard;
  ASSERT_TRUE(executor::configure_blocking_pool({.keep_alive = 20ms}).ok());
  Gate gate;
  std::vector<BlockingJoinHandle<void>> hs;
  for (int i = 0; i < 4; ++i) hs.push_back(executor::spawn_blocking([&] { gate.wait(); }));
  EXPECT_TRUE(eventually([] { return executor::blocking_pool_stats().threads >= 4; }));
  gate.open();
  for (auto& h : hs) h.wait();
  EXPECT_TRUE(eventually([] { return executor::blocking_pool_stats().threads == 0; }));
  // And the pool starts threads again on demand.
  EXPECT_EQ(executor::spawn_blocking([] { return 3; }).wait(), 3);
}

TEST(SpawnBlocking, AbortBeforeStartNeverRuns) {
  PoolOptionsGuard guard;
  ASSERT_TRUE(executor::configure_blocking_pool({.max_threads = 1}).ok());
  Gate gate;
  std::atomic<bool> ran{false}, blocking{false};
  auto blocker = executor::spawn_blocking([&] {
    blocking = true;
    gate.wait();
  });
  EXPECT_TRUE(eventually([&] { return blocking.load(); }));
  auto victim = executor::spawn_blocking([&] {
    ran = true;
    return 1;
  });
  EXPECT_TRUE(victim.abort());
  EXPECT_FALSE(victim.abort());  // already aborted
  EXPECT_TRUE(victim.is_finished());
  EXPECT_FALSE(blocker.abort());  // already running
  gate.open();
  blocker.wait();
  EXPECT_THROW(victim.wait(), executor::TaskCancelled);
  // The pool drained the aborted job without running it.
  EXPECT_TRUE(eventually([] { return executor::blocking_pool_stats().queued == 0; }));
  EXPECT_FALSE(ran.load());
}

// Cancellation first: the coroutine awaiting a job is destroyed while suspended (a timeout
// aborts it); the job keeps running and completes into a detached cell, nothing leaks.
TEST(SpawnBlocking, JoinerDestroyedWhileSuspended) {
  Runtime rt({.workers = 2});
  auto gate = std::make_shared<Gate>();
  auto finished = std::make_shared<std::atomic<bool>>(false);
  auto waiter = [gate, finished]() -> Task<void> {
    auto h = executor::spawn_blocking([gate, finished] {
      gate->wait();
      finished->store(true);
    });
    co_await std::move(h);
  };
  auto body = [&]() -> Task<bool> {
    absl::Status s = co_await executor::timeout(5ms, waiter());
    co_return absl::IsDeadlineExceeded(s);
  };
  EXPECT_TRUE(rt.block_on(body()));
  gate->open();
  EXPECT_TRUE(eventually([&] { return finished->load(); }));
}

TEST(SpawnBlocking, RuntimeTeardownWithAJoinerSuspended) {
  auto gate = std::make_shared<Gate>();
  auto blocking = std::make_shared<std::atomic<bool>>(false);
  std::atomic<bool> done{false};
  {
    Runtime rt({.workers = 1});
    auto joiner = [](std::shared_ptr<Gate> g, std::shared_ptr<std::atomic<bool>> b) -> Task<int> {
      auto h = executor::spawn_blocking([g, b] {
        b->store(true);
        g->wait();
        return 1;
      });
      co_return co_await std::move(h);
    };
    rt.spawn(joiner(gate, blocking)).detach();
    EXPECT_TRUE(eventually([&] { return blocking->load(); }));
    std::this_thread::sleep_for(2ms);  // usually lets the joiner suspend (either way is valid)
  }  // teardown destroys the joiner's frame, normally while it is suspended on the job
  auto h = executor::spawn_blocking([&] { done = true; });
  gate->open();
  h.wait();
  EXPECT_TRUE(done.load());
}

TEST(SpawnBlocking, DetachedExceptionIsLogged) {
  auto h = executor::spawn_blocking([]() -> int { throw std::runtime_error("lost result"); });
  EXPECT_TRUE(eventually([&] { return h.is_finished(); }));
  testing::internal::CaptureStderr();
  h.detach();
  std::string err = testing::internal::GetCapturedStderr();
  EXPECT_THAT(err, testing::HasSubstr("detached blocking job threw"));
  EXPECT_THAT(err, testing::HasSubstr("lost result"));
}

TEST(SpawnBlocking, InvalidOptionsAreRejected) {
  EXPECT_TRUE(absl::IsInvalidArgument(executor::configure_blocking_pool({.max_threads = 0})));
  EXPECT_TRUE(absl::IsInvalidArgument(
      executor::configure_blocking_pool({.max_threads = 4, .keep_alive = 0ms})));
  EXPECT_TRUE(executor::configure_blocking_pool({}).ok());
}

// Stress (TSan): several plain threads and several tasks spawn, abort, detach and join jobs
// while the options change underneath.
TEST(SpawnBlocking, Stress) {
  PoolOptionsGuard guard;
  Runtime rt({.workers = 2});
  constexpr int kThreads = 4, kIters = 200;
  std::atomic<long> total{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kIters; ++i) {
        auto h = executor::spawn_blocking([i] { return i; });
        switch ((i + t) % 4) {
          case 0:
            total += h.wait();
            break;
          case 1:
            if (!h.abort())
              total += h.wait();
            else
              EXPECT_THROW(h.wait(), executor::TaskCancelled);
            break;
          case 2:
            h.detach();
            break;
          default:
            total += rt.block_on([](BlockingJoinHandle<int> h) -> Task<int> {
              co_return co_await std::move(h);
            }(std::move(h)));
        }
        if (t == 0 && i % 50 == 0) {
          unsigned max = static_cast<unsigned>(1 + (i / 50) % 3);
          EXPECT_TRUE(
              executor::configure_blocking_pool({.max_threads = max, .keep_alive = 1ms}).ok());
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_GT(total.load(), 0);
}

}  // namespace
