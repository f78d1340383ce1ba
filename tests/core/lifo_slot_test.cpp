// The scheduler's LIFO slot (runtime/linux/runtime_impl.hpp): a task woken by a running task
// runs next on that worker. These tests check what the slot must not break: other local work,
// foreign spawns (inject queue) and timers still run while two tasks wake each other forever;
// yield_now still goes to the back of the queue; a spawned child is still stealable; wakes
// racing across workers lose nothing (TSan); teardown releases a task sitting in the slot.
#include <executor/executor.hpp>
#include <executor/sync/mpsc.hpp>
#include <executor/sync/mutex.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <thread>
#include <utility>
#include <vector>

namespace {

using namespace std::chrono_literals;
using executor::JoinHandle;
using executor::Runtime;
using executor::Task;
namespace mpsc = executor::sync::mpsc;

#if defined(EXECUTOR_SANITIZER_BUILD)
constexpr int kScale = 5;
#else
constexpr int kScale = 1;
#endif

// Two tasks pass a counter back and forth over capacity-1 channels (each send wakes the
// other, which goes to the LIFO slot) until `stop` is set or `cap` round trips were made.
// Returns the number of round trips; `progress` (if set) follows it. Each task owns its channel
// ends, so teardown may destroy the two frames in either order. Caps stay below 2^23 round
// trips: the task's 24-bit run epoch wraps after 2^24 runs, and a wake of a task whose epoch
// reads 0 (as if never run) goes to the queue, not the slot, which would rescue a starved task
// and hide the bug these tests look for.
Task<void> pong(mpsc::Receiver<std::int64_t> in, mpsc::Sender<std::int64_t> out) {
  while (auto v = co_await in.recv()) {
    if (!co_await out.send(*v + 1)) co_return;
  }
}

Task<std::int64_t> ping_until(const std::atomic<bool>* stop, std::int64_t cap,
                              std::atomic<std::int64_t>* progress = nullptr) {
  auto [to_pong, pong_in] = mpsc::channel<std::int64_t>(1);
  auto [to_ping, ping_in] = mpsc::channel<std::int64_t>(1);
  auto p = executor::spawn(pong(std::move(pong_in), std::move(to_ping)));
  std::int64_t n = 0;
  while (n < cap && !stop->load(std::memory_order_acquire)) {
    (void)co_await to_pong.send(std::int64_t{n});
    n = *co_await ping_in.recv();
    // relaxed: a progress hint for the test's thread.
    if (progress != nullptr) progress->store(n, std::memory_order_relaxed);
  }
  to_pong = mpsc::Sender<std::int64_t>();  // ends pong
  co_await std::move(p);
  co_return n;
}

// Without a bound on consecutive LIFO runs, the pair would keep the only worker forever and
// the third task (in the local queue) would run only after the cap.
TEST(LifoSlot, PingPongPairDoesNotStarveALocalTask) {
  constexpr std::int64_t kCap = 8'000'000;
  for (unsigned workers : {1u, 2u}) {
    Runtime rt({.workers = workers});
    std::atomic<bool> stop{false};
    std::int64_t trips = rt.block_on([](std::atomic<bool>* stop) -> Task<std::int64_t> {
      auto pair = executor::spawn(ping_until(stop, kCap));
      // Let the pair get going on this worker, then queue the task that stops it.
      co_await executor::yield_now();
      auto stopper = executor::spawn([](std::atomic<bool>* stop) -> Task<void> {
        stop->store(true, std::memory_order_release);
        co_return;
      }(stop));
      std::int64_t n = co_await std::move(pair);
      co_await std::move(stopper);
      co_return n;
    }(&stop));
    EXPECT_TRUE(stop.load());
    EXPECT_LT(trips, kCap) << workers << " workers: the pair starved the stopper";
  }
}

// A task spawned from outside (inject queue) and a timer's wake (wake queue) must also run.
TEST(LifoSlot, PingPongPairDoesNotStarveForeignSpawnsOrTimers) {
  constexpr std::int64_t kCap = 8'000'000;
  Runtime rt({.workers = 1});
  std::atomic<bool> stop_a{false};
  std::atomic<bool> stop_b{false};
  std::atomic<std::int64_t> progress{0};
  // A sleep: its wake comes from a timer while the pairs run.
  auto sleeper = rt.spawn([](std::atomic<bool>* stop) -> Task<void> {
    co_await executor::sleep(1ms);
    stop->store(true, std::memory_order_release);
  }(&stop_b));
  auto pair_b = rt.spawn(ping_until(&stop_b, kCap));
  auto pair_a = rt.spawn(ping_until(&stop_a, kCap, &progress));
  // Once pair a runs, from this (foreign) thread: through the inject queue.
  while (progress.load(std::memory_order_relaxed) < 1000) std::this_thread::yield();
  auto stopper = rt.spawn([](std::atomic<bool>* stop) -> Task<void> {
    stop->store(true, std::memory_order_release);
    co_return;
  }(&stop_a));
  auto [a, b] =
      rt.block_on([](JoinHandle<std::int64_t> a, JoinHandle<std::int64_t> b, JoinHandle<void> c,
                     JoinHandle<void> d) -> Task<std::pair<std::int64_t, std::int64_t>> {
        std::int64_t na = co_await std::move(a);
        std::int64_t nb = co_await std::move(b);
        co_await std::move(c);
        co_await std::move(d);
        co_return std::pair{na, nb};
      }(std::move(pair_a), std::move(pair_b), std::move(stopper), std::move(sleeper)));
  EXPECT_LT(a, kCap) << "foreign spawn starved";
  EXPECT_LT(b, kCap) << "timer wake starved";
}

// yield_now goes to the back of the queue, never to the LIFO slot: a task that wakes a partner
// and then yields until a third (queued) task has run must not loop forever.
TEST(LifoSlot, YieldGoesBehindQueuedTasks) {
  Runtime rt({.workers = 1});
  int yields = rt.block_on([]() -> Task<int> {
    auto [tx, rx] = mpsc::channel<int>(1);
    std::atomic<bool> third_ran{false};
    auto partner = executor::spawn([](mpsc::Receiver<int>* rx) -> Task<void> {
      while (co_await rx->recv()) {
      }
    }(&rx));
    co_await executor::yield_now();  // partner is now waiting on the channel
    auto third = executor::spawn([](std::atomic<bool>* ran) -> Task<void> {
      ran->store(true);
      co_return;
    }(&third_ran));
    int yields = 0;
    for (int i = 0; i < 1000 && !third_ran.load(); ++i) {
      (void)co_await tx.send(int{i});  // wakes the partner into the LIFO slot
      co_await executor::yield_now();
      ++yields;
    }
    tx = mpsc::Sender<int>();
    co_await std::move(partner);
    co_await std::move(third);
    co_return yields;
  }());
  // One yield puts this task behind `third` (queued before it), so third has run after it.
  EXPECT_EQ(yields, 1);
}

// A spawned child goes to the stealable queue (not the LIFO slot): a parent that blocks its
// worker until the child has run is rescued by the other worker.
TEST(LifoSlot, SpawnedChildIsStealableWhileParentBlocks) {
  Runtime rt({.workers = 2});
  for (int i = 0; i < 20; ++i) {
    bool ok = rt.block_on([]() -> Task<bool> {
      auto ran = std::make_shared<std::atomic<bool>>(false);
      auto child = executor::spawn([](std::shared_ptr<std::atomic<bool>> ran) -> Task<void> {
        ran->store(true);
        co_return;
      }(ran));
      auto deadline = std::chrono::steady_clock::now() + 10s;
      while (!ran->load() && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::yield();  // blocks this worker (deliberately)
      }
      co_await std::move(child);
      co_return ran->load();
    }());
    ASSERT_TRUE(ok) << "round " << i;
  }
}

// Stress (TSan): a ring of tasks passing tokens (every hand-off is a wake into the waker's LIFO
// slot, displacing the previous occupant into the stealable queue), plus a contended mutex and
// yields, across workers; nothing may be lost or run twice.
TEST(LifoSlotStress, RingOfWakesAcrossWorkers) {
  constexpr int kTasks = 8;
  const int rounds = 20000 / kScale;
  for (unsigned workers : {2u, 3u}) {
    Runtime rt({.workers = workers});
    std::int64_t total = rt.block_on([](int rounds) -> Task<std::int64_t> {
      std::vector<mpsc::Sender<int>> txs;
      std::vector<mpsc::Receiver<int>> rxs;
      for (int i = 0; i < kTasks; ++i) {
        auto [tx, rx] = mpsc::channel<int>(2);
        txs.push_back(std::move(tx));
        rxs.push_back(std::move(rx));
      }
      executor::sync::Mutex<std::int64_t> sum(std::int64_t{0});
      std::vector<JoinHandle<void>> hs;
      for (int i = 0; i < kTasks; ++i) {
        hs.push_back(executor::spawn(
            [](int i, mpsc::Receiver<int>* in, mpsc::Sender<int> out, int rounds,
               executor::sync::Mutex<std::int64_t>* sum) -> Task<void> {
              for (int r = 0; r < rounds; ++r) {
                auto v = co_await in->recv();
                if (!v) co_return;
                {
                  auto g = co_await sum->lock();
                  *g += *v;
                }
                if ((r + i) % 5 == 0) co_await executor::yield_now();
                if (!co_await out.send(*v + 1)) co_return;
              }
            },
            i, &rxs[i], txs[(i + 1) % kTasks].clone(), rounds, &sum));
      }
      // Two tokens circulate.
      (void)co_await txs[0].send(0);
      (void)co_await txs[kTasks / 2].send(0);
      for (auto& h : hs) co_await std::move(h);
      co_return sum.get_unsynchronized();
    }(rounds));
    // Tokens cannot overtake each other in a ring of FIFO channels, so every task receives
    // them alternately: each token is received kTasks * rounds / 2 times, with the values
    // 0, 1, 2, ... (every hop adds 1).
    const std::int64_t hops_per_token = std::int64_t{kTasks} * rounds / 2;
    EXPECT_EQ(total, 2 * (hops_per_token * (hops_per_token - 1) / 2)) << workers << " workers";
  }
}

// Teardown while a task sits in a LIFO slot (or was just woken into one): destroying the
// runtime cancels it and releases its references; its frame's locals are destroyed.
TEST(LifoSlotStress, TeardownWithTasksWakingEachOther) {
  for (int i = 0; i < 40 / kScale + 4; ++i) {
    auto alive = std::make_shared<int>(0);
    {
      Runtime rt({.workers = 1 + static_cast<unsigned>(i % 2)});
      for (int p = 0; p < 2; ++p) {
        rt.spawn([](std::shared_ptr<int> alive) -> Task<void> {
            std::atomic<bool> never{false};
            co_await ping_until(&never, INT64_MAX);
            (void)alive;
          }(alive))
            .detach();
      }
      std::this_thread::sleep_for(std::chrono::microseconds(200 * (i % 5)));
    }  // the pairs are mid-flight: one of each pair is running, queued or in a LIFO slot
    EXPECT_EQ(alive.use_count(), 1) << "a task frame was not destroyed (round " << i << ")";
  }
}

}  // namespace
