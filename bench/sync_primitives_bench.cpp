// One benchmark per sync primitive (costs of the common operation, single-threaded on a
// 1-worker runtime unless the name says otherwise). Figures are items/s.
//
//   ./build/release/bench/sync_primitives_bench
#include <benchmark/benchmark.h>

#include <optional>
#include <thread>
#include <vector>

#include <executor/executor.hpp>
#include <executor/sync/barrier.hpp>
#include <executor/sync/event.hpp>
#include <executor/sync/latch.hpp>
#include <executor/sync/mpsc.hpp>
#include <executor/sync/multishot.hpp>
#include <executor/sync/notify.hpp>
#include <executor/sync/oneshot.hpp>
#include <executor/sync/rw_lock.hpp>
#include <executor/sync/semaphore.hpp>
#include <executor/sync/wait_map.hpp>

#include "sync_bench_util.hpp"

namespace {

using executor::JoinHandle;
using executor::Task;
namespace sync = executor::sync;

constexpr long kN = 200'000;

template <class F>
void run_timed(benchmark::State& state, unsigned workers, const char* name, long n, F make) {
  executor::Runtime rt({.workers = workers});
  for (auto _ : state) {
    executor::bench::Stopwatch sw;
    rt.block_on(make(n));
    double s = sw.seconds();
    state.SetIterationTime(s);
    executor::bench::report(name, n, s);
  }
  state.SetItemsProcessed(n * static_cast<long>(state.iterations()));
}

// multishot: a receiver starts a round, a spawned task sends, the receiver awaits.
Task<void> multishot_rounds(long n) {
  auto [first, rx] = sync::multishot::channel<long>();
  std::optional<sync::multishot::Sender<long>> tx(std::move(first));
  for (long i = 0; i < n; ++i) {
    if (i > 0) tx = rx.sender();
    executor::spawn(
        [](sync::multishot::Sender<long> s, long v) -> Task<void> {
          s.send(v);
          co_return;
        },
        std::move(*tx), i)
        .detach();
    tx.reset();
    (void)co_await rx.recv();
  }
}
void BM_MultishotRoundWithSpawnedSender(benchmark::State& state) {
  run_timed(state, 2, "multishot_round", kN, multishot_rounds);
}
BENCHMARK(BM_MultishotRoundWithSpawnedSender)->Iterations(1)->Repetitions(3)->UseManualTime();

// multishot send + receive of a value already there (no suspension): the lock-free fast path.
void BM_MultishotSendThenTryRecv(benchmark::State& state) {
  auto [first, rx] = sync::multishot::channel<long>();
  first.send(0);
  (void)rx.try_recv();
  for (auto _ : state) {
    auto tx = rx.sender();
    tx->send(1);
    benchmark::DoNotOptimize(rx.try_recv());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_MultishotSendThenTryRecv);

// oneshot: allocate a channel, reply from a spawned task, await.
Task<void> oneshot_replies(long n) {
  for (long i = 0; i < n; ++i) {
    auto [tx, rx] = sync::oneshot::channel<long>();
    executor::spawn(
        [](sync::oneshot::Sender<long> s, long v) -> Task<void> {
          s.send(v);
          co_return;
        },
        std::move(tx), i)
        .detach();
    (void)co_await std::move(rx);
  }
}
void BM_OneshotReply(benchmark::State& state) {
  run_timed(state, 2, "oneshot_reply", kN, oneshot_replies);
}
BENCHMARK(BM_OneshotReply)->Iterations(1)->Repetitions(3)->UseManualTime();

// WaitMap: a waiter task and a waker task correlate n keys.
Task<void> wait_map_waiter(sync::WaitMap<long, long>* m, long n) {
  for (long i = 0; i < n; ++i) (void)co_await m->wait(i);
}
Task<void> wait_map_round_trips(long n) {
  sync::WaitMap<long, long> m;
  auto w = executor::spawn(wait_map_waiter(&m, n));
  for (long i = 0; i < n; ++i) {
    while (!m.wake(i, i).woke()) co_await executor::yield_now();
  }
  co_await std::move(w);
}
void BM_WaitMapWaitWake(benchmark::State& state) {
  run_timed(state, 1, "wait_map_wait_wake", kN, wait_map_round_trips);
}
BENCHMARK(BM_WaitMapWaitWake)->Iterations(1)->Repetitions(3)->UseManualTime();

// Semaphore: uncontended acquire/release.
void BM_SemaphoreTryAcquireRelease(benchmark::State& state) {
  sync::Semaphore s(4);
  for (auto _ : state) {
    auto p = s.try_acquire(1);
    benchmark::DoNotOptimize(p);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SemaphoreTryAcquireRelease);

// Semaphore(2) shared by 8 tasks on 2 workers, each acquiring and yielding while holding.
Task<void> sem_user(sync::Semaphore* s, long n) {
  for (long i = 0; i < n; ++i) {
    auto p = co_await s->acquire();
    if (i % 16 == 0) co_await executor::yield_now();
  }
}
Task<void> sem_contended(long n) {
  sync::Semaphore s(2);
  std::vector<JoinHandle<void>> ts;
  for (int i = 0; i < 8; ++i) ts.push_back(executor::spawn(sem_user(&s, n / 8)));
  for (auto& t : ts) co_await std::move(t);
}
void BM_SemaphoreContended8Tasks2Workers(benchmark::State& state) {
  run_timed(state, 2, "semaphore_contended", 800'000, sem_contended);
}
BENCHMARK(BM_SemaphoreContended8Tasks2Workers)->Iterations(1)->Repetitions(3)->UseManualTime();

// RwLock: 8 tasks on 2 workers, 1 write per 8 reads.
Task<void> rw_user(sync::RwLock<long>* l, long n) {
  for (long i = 0; i < n; ++i) {
    if (i % 8 == 0) {
      auto g = co_await l->write();
      ++*g;
    } else {
      auto g = co_await l->read();
      benchmark::DoNotOptimize(*g);
    }
  }
}
Task<void> rw_mix(long n) {
  sync::RwLock<long> l(0L);
  std::vector<JoinHandle<void>> ts;
  for (int i = 0; i < 8; ++i) ts.push_back(executor::spawn(rw_user(&l, n / 8)));
  for (auto& t : ts) co_await std::move(t);
}
void BM_RwLockMix8Tasks2Workers(benchmark::State& state) {
  run_timed(state, 2, "rw_lock_mix", 800'000, rw_mix);
}
BENCHMARK(BM_RwLockMix8Tasks2Workers)->Iterations(1)->Repetitions(3)->UseManualTime();

// Notify: ping-pong between two tasks through two Notify objects.
Task<void> notify_pong(sync::Notify* in, sync::Notify* out, long n) {
  for (long i = 0; i < n; ++i) {
    co_await in->notified();
    out->notify_one();
  }
}
Task<void> notify_ping_pong(long n) {
  sync::Notify a, b;
  auto t = executor::spawn(notify_pong(&a, &b, n));
  for (long i = 0; i < n; ++i) {
    a.notify_one();
    co_await b.notified();
  }
  co_await std::move(t);
}
void BM_NotifyPingPong(benchmark::State& state) {
  run_timed(state, 1, "notify_ping_pong", kN, notify_ping_pong);
}
BENCHMARK(BM_NotifyPingPong)->Iterations(1)->Repetitions(3)->UseManualTime();

// Event: set/reset with 16 waiters per round.
Task<void> event_waiter(sync::Event* e) {
  co_await e->wait();
}
Task<void> event_rounds(long n) {
  for (long i = 0; i < n / 16; ++i) {
    sync::Event e;
    std::vector<JoinHandle<void>> ts;
    for (int k = 0; k < 16; ++k) ts.push_back(executor::spawn(event_waiter(&e)));
    co_await executor::yield_now();
    e.set();
    for (auto& t : ts) co_await std::move(t);
  }
}
void BM_EventBroadcast16(benchmark::State& state) {
  run_timed(state, 2, "event_broadcast16_waiters", kN, event_rounds);
}
BENCHMARK(BM_EventBroadcast16)->Iterations(1)->Repetitions(3)->UseManualTime();

// Barrier: 4 tasks on 2 workers through n/4 generations.
Task<void> barrier_user(sync::Barrier* b, long gens) {
  for (long i = 0; i < gens; ++i) (void)co_await b->wait();
}
Task<void> barrier_gens(long n) {
  sync::Barrier b(4);
  std::vector<JoinHandle<void>> ts;
  for (int k = 0; k < 4; ++k) ts.push_back(executor::spawn(barrier_user(&b, n / 4)));
  for (auto& t : ts) co_await std::move(t);
}
void BM_Barrier4Tasks2Workers(benchmark::State& state) {
  run_timed(state, 2, "barrier_arrivals", kN, barrier_gens);
}
BENCHMARK(BM_Barrier4Tasks2Workers)->Iterations(1)->Repetitions(3)->UseManualTime();

// Latch: count_down + wait on an open latch (fast path).
void BM_LatchCountDownAndTryWait(benchmark::State& state) {
  for (auto _ : state) {
    sync::Latch l(1);
    l.count_down();
    benchmark::DoNotOptimize(l.try_wait());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_LatchCountDownAndTryWait);

// mpsc: 2 producers, 1 consumer, capacity 64, on 2 workers.
Task<void> mpsc_producer(sync::mpsc::Sender<long> tx, long n) {
  for (long i = 0; i < n; ++i) {
    long v = i;
    (void)co_await tx.send(std::move(v));
  }
}
Task<void> mpsc_throughput(long n) {
  auto [tx, rx] = sync::mpsc::channel<long>(64);
  executor::spawn(mpsc_producer(tx.clone(), n / 2)).detach();
  executor::spawn(mpsc_producer(std::move(tx), n / 2)).detach();
  while (auto v = co_await rx.recv()) benchmark::DoNotOptimize(*v);
}
void BM_MpscThroughput2Producers(benchmark::State& state) {
  run_timed(state, 2, "mpsc_items", 1'000'000, mpsc_throughput);
}
BENCHMARK(BM_MpscThroughput2Producers)->Iterations(1)->Repetitions(3)->UseManualTime();

}  // namespace

BENCHMARK_MAIN();
