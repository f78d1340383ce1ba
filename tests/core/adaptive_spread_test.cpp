// Adaptive spreading (runtime/linux/runtime_impl.cpp, notify_local): while other processes
// hold CPUs, a worker does not wake an idle one for the work it queues (unless it is a
// backlog), and a second awake
// worker hands its work over and parks. EXECUTOR_SPREAD=packed makes the runtime behave as if
// that were always so. What must hold: a burst of spawns stays on the spawning worker, and no
// task waits for ever behind a task that blocks its worker without suspending -- the completion
// thread's watch wakes an idle worker for it (rescue_stuck), for local work and for timer
// wakes alike. The other tests of the core, sync and I/O suites run again in packed mode
// (ctest names *.packed, tests/core/extra.cmake).
#include <executor/executor.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "../spread_mode.hpp"

namespace {

using namespace std::chrono_literals;
using executor::JoinHandle;
using executor::Runtime;
using executor::Task;

using executor::testing::SpreadMode;

// Spins (blocking its worker, never suspending) until `flag` is set; false after 5 s.
bool spin_until(const std::atomic<bool>& flag) {
  auto give_up = std::chrono::steady_clock::now() + 5s;
  while (!flag.load(std::memory_order_acquire)) {
    if (std::chrono::steady_clock::now() > give_up) return false;
  }
  return true;
}

TEST(AdaptiveSpread, RejectsAnUnknownMode) {
  SpreadMode mode("sideways");
  try {
    Runtime rt({.workers = 2});
    FAIL() << "constructed a runtime with EXECUTOR_SPREAD=sideways";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("EXECUTOR_SPREAD"), std::string::npos) << e.what();
  }
  auto rt = Runtime::create({.workers = 2});
  ASSERT_FALSE(rt.ok());
  EXPECT_EQ(rt.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(AdaptiveSpread, EveryModeRunsTasks) {
  for (const char* m : {"auto", "eager", "packed"}) {
    SpreadMode mode(m);
    Runtime rt({.workers = 2});
    int sum = rt.block_on([]() -> Task<int> {
      std::vector<JoinHandle<int>> hs;
      for (int i = 0; i < 100; ++i) {
        hs.push_back(executor::spawn([](int v) -> Task<int> {
          co_return v;
        }(i)));
      }
      int s = 0;
      for (auto& h : hs) s += co_await std::move(h);
      co_return s;
    }());
    EXPECT_EQ(sum, 4950) << m;
  }
}

// Two tasks that each block their worker until the other has started need both workers at
// once. Their spawns are two short pushes, not worth a wake-up by the cost model (auto) nor a
// backlog (packed): the completion thread's watch must see the first worker stuck and wake the
// second, in every mode, every time.
Task<bool> meet(std::atomic<int>* started) {
  started->fetch_add(1, std::memory_order_acq_rel);
  auto give_up = std::chrono::steady_clock::now() + 5s;
  while (started->load(std::memory_order_acquire) < 2) {
    if (std::chrono::steady_clock::now() > give_up) co_return false;
  }
  co_return true;
}

Task<bool> meet_twice(std::atomic<int>* started) {
  JoinHandle<bool> a = executor::spawn(meet, started);
  JoinHandle<bool> b = executor::spawn(meet, started);
  bool ra = co_await std::move(a);
  bool rb = co_await std::move(b);
  co_return ra&& rb;
}

TEST(AdaptiveSpread, TasksThatNeedEachOtherRunAtOnceInEveryMode) {
  for (const char* m : {"auto", "eager", "packed"}) {
    SpreadMode mode(m);
    Runtime rt({.workers = 2});
    for (int round = 0; round < 20; ++round) {
      std::atomic<int> started{0};
      bool ok = rt.block_on(meet_twice(&started));
      ASSERT_TRUE(ok) << m << " round " << round;
    }
  }
}

// The spawner's worker had slack (it just woke up), so its pushes wake nobody: the children
// run after the parent suspends, on the same thread.
TEST(AdaptiveSpread, PackedBurstOfSpawnsStaysOnTheSpawningWorker) {
  SpreadMode mode("packed");
  Runtime rt({.workers = 2});
  std::this_thread::sleep_for(20ms);  // both workers parked
  auto [parent, children] =
      rt.block_on([]() -> Task<std::pair<std::thread::id, std::vector<std::thread::id>>> {
        std::thread::id me = std::this_thread::get_id();
        std::vector<JoinHandle<std::thread::id>> hs;
        for (int i = 0; i < 8; ++i) {
          hs.push_back(executor::spawn([]() -> Task<std::thread::id> {
            co_return std::this_thread::get_id();
          }()));
        }
        std::vector<std::thread::id> ids;
        for (auto& h : hs) ids.push_back(co_await std::move(h));
        co_return std::pair{me, ids};
      }());
  for (std::thread::id id : children) EXPECT_EQ(id, parent);
}

// Unless the burst is a backlog: 128 tasks queued on one worker are worth a share of the CPUs
// even while other threads hold some. Each child busies its worker for 20 us, so the whole
// burst takes 40 ms on one worker: plenty of time for the other one to be woken and steal.
TEST(AdaptiveSpread, PackedBacklogSpreads) {
  SpreadMode mode("packed");
  Runtime rt({.workers = 2});
  std::this_thread::sleep_for(20ms);  // both workers parked
  auto [parent, children] =
      rt.block_on([]() -> Task<std::pair<std::thread::id, std::vector<std::thread::id>>> {
        std::thread::id me = std::this_thread::get_id();
        std::vector<JoinHandle<std::thread::id>> hs;
        for (int i = 0; i < 2000; ++i) {
          hs.push_back(executor::spawn([]() -> Task<std::thread::id> {
            auto until = std::chrono::steady_clock::now() + 20us;
            while (std::chrono::steady_clock::now() < until) {
            }
            co_return std::this_thread::get_id();
          }()));
        }
        std::vector<std::thread::id> ids;
        for (auto& h : hs) ids.push_back(co_await std::move(h));
        co_return std::pair{me, ids};
      }());
  int elsewhere = 0;
  for (std::thread::id id : children) elsewhere += id != parent ? 1 : 0;
  EXPECT_GT(elsewhere, 0);
}

// The parent blocks its worker until its child has run: the held-back child must be taken by
// the other worker, woken by the completion thread's watch.
TEST(AdaptiveSpread, PackedTaskQueuedBehindABlockedWorkerIsRescued) {
  SpreadMode mode("packed");
  for (int round = 0; round < 3; ++round) {
    Runtime rt({.workers = 2});
    std::this_thread::sleep_for(20ms);  // both workers parked: nobody awake to take the child
    bool ok = rt.block_on([]() -> Task<bool> {
      std::atomic<bool> ran{false};
      auto child = executor::spawn([](std::atomic<bool>* ran) -> Task<void> {
        ran->store(true, std::memory_order_release);
        co_return;
      }(&ran));
      bool ok = spin_until(ran);
      co_await std::move(child);
      co_return ok;
    }());
    EXPECT_TRUE(ok) << "round " << round;
  }
}

// A timer's wake goes to the wake queue and is held back while a worker is awake; that worker
// is blocked, so the watch must hand it to the other one.
TEST(AdaptiveSpread, PackedTimerWakeBehindABlockedWorkerIsRescued) {
  SpreadMode mode("packed");
  Runtime rt({.workers = 2});
  std::this_thread::sleep_for(20ms);  // both workers parked
  bool ok = rt.block_on([]() -> Task<bool> {
    std::atomic<bool> woke{false};
    auto sleeper = executor::spawn([](std::atomic<bool>* woke) -> Task<void> {
      co_await executor::sleep(2ms);
      woke->store(true, std::memory_order_release);
    }(&woke));
    co_await executor::yield_now();  // the sleeper starts (and suspends) first
    bool ok = spin_until(woke);
    co_await std::move(sleeper);
    co_return ok;
  }());
  EXPECT_TRUE(ok);
}

// Work arriving from outside (block_on from this thread) and many short tasks that suspend
// and resume in packed mode, torn down while some are queued: nothing is lost or leaked (ASan).
// Counts the destruction of the coroutine frame that owns it (a parameter lives in the frame,
// so a task torn down before it ever ran counts too); a moved-from one counts nothing.
class FrameCounter {
 public:
  explicit FrameCounter(std::atomic<int>* n) : n_(n) {}
  FrameCounter(FrameCounter&& o) noexcept : n_(std::exchange(o.n_, nullptr)) {}
  FrameCounter& operator=(FrameCounter&&) = delete;
  ~FrameCounter() {
    if (n_ != nullptr) n_->fetch_add(1, std::memory_order_relaxed);
  }

 private:
  std::atomic<int>* n_;
};

TEST(AdaptiveSpread, PackedTeardownWithQueuedWork) {
  // A task spawns 200 children onto its worker's queue (packed: nobody else is woken for them)
  // and returns; the runtime is destroyed while most of them still wait there. Every child's
  // frame is destroyed exactly once, finished or torn down (and no hang, leak or race under
  // the sanitizer presets).
  SpreadMode mode("packed");
  std::atomic<int> destroyed{0};
  {
    Runtime rt({.workers = 2});
    rt.block_on([](std::atomic<int>* destroyed) -> Task<void> {
      for (int i = 0; i < 200; ++i) {
        executor::spawn([](FrameCounter) -> Task<void> {
          for (int k = 0; k < 20; ++k) co_await executor::yield_now();
        }(FrameCounter(destroyed)))
            .detach();
      }
      co_return;
    }(&destroyed));
  }
  EXPECT_EQ(destroyed.load(), 200);
}

}  // namespace
