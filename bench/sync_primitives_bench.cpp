// One workload per sync primitive (the common operation of each), measured with the shared
// harness (one machine-readable line each). Runtimes: 2 workers unless the name ends in _1w.
//
//   ./build/release/bench/sync_primitives_bench [--benchmark_filter=^multishot_round/]
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

#include <cstdint>
#include <optional>
#include <vector>

#include "common/harness.hpp"

namespace {

using executor::JoinHandle;
using executor::Task;
namespace sync = executor::sync;
using i64 = std::int64_t;

// multishot: the receiver starts a round, a spawned task sends, the receiver awaits.
Task<i64> multishot_rounds(i64 n) {
  auto [first, rx] = sync::multishot::channel<i64>();
  std::optional<sync::multishot::Sender<i64>> tx(std::move(first));
  i64 got = 0;
  for (i64 i = 0; i < n; ++i) {
    if (i > 0) tx = rx.sender();
    executor::spawn(
        [](sync::multishot::Sender<i64> s, i64 v) -> Task<void> {
          s.send(v);
          co_return;
        },
        std::move(*tx), i)
        .detach();
    tx.reset();
    if (co_await rx.recv()) ++got;
  }
  co_return got;
}

// multishot send + receive of a value already there: the lock-free fast path, no suspension.
Task<i64> multishot_fast_path(i64 n) {
  auto [first, rx] = sync::multishot::channel<i64>();
  first.send(0);
  (void)rx.try_recv();
  i64 got = 0;
  for (i64 i = 0; i < n; ++i) {
    auto tx = rx.sender();
    tx->send(i);
    if (co_await rx.recv()) ++got;
  }
  co_return got;
}

// oneshot: a channel per request, the reply from a spawned task.
Task<i64> oneshot_replies(i64 n) {
  i64 got = 0;
  for (i64 i = 0; i < n; ++i) {
    auto [tx, rx] = sync::oneshot::channel<i64>();
    executor::spawn(
        [](sync::oneshot::Sender<i64> s, i64 v) -> Task<void> {
          s.send(v);
          co_return;
        },
        std::move(tx), i)
        .detach();
    if (co_await std::move(rx)) ++got;
  }
  co_return got;
}

// WaitMap: a waiter task and a waker task correlate n keys.
Task<void> wait_map_waiter(sync::WaitMap<i64, i64>* m, i64 n, i64* got) {
  for (i64 i = 0; i < n; ++i) {
    if (co_await m->wait(i)) ++*got;
  }
}
Task<i64> wait_map_round_trips(i64 n) {
  sync::WaitMap<i64, i64> m;
  i64 got = 0;
  auto w = executor::spawn(wait_map_waiter(&m, n, &got));
  for (i64 i = 0; i < n; ++i) {
    while (!m.wake(i, i).woke()) co_await executor::yield_now();
  }
  co_await std::move(w);
  co_return got;
}

// Semaphore(2) shared by 8 tasks, each acquiring and sometimes yielding while holding.
Task<void> sem_user(sync::Semaphore* s, i64 n) {
  for (i64 i = 0; i < n; ++i) {
    auto p = co_await s->acquire();
    if (i % 16 == 0) co_await executor::yield_now();
  }
}
Task<i64> sem_contended(i64 n) {
  sync::Semaphore s(2);
  std::vector<JoinHandle<void>> ts;
  for (int i = 0; i < 8; ++i) ts.push_back(executor::spawn(sem_user(&s, n / 8)));
  for (auto& t : ts) co_await std::move(t);
  co_return s.available_permits() == 2 ? n : -1;
}

// RwLock: 8 tasks, one write per 8 operations.
Task<void> rw_user(sync::RwLock<i64>* l, i64 n) {
  for (i64 i = 0; i < n; ++i) {
    if (i % 8 == 0) {
      auto g = co_await l->write();
      ++*g;
    } else {
      auto g = co_await l->read();
      benchmark::DoNotOptimize(*g);
    }
  }
}
Task<i64> rw_mix(i64 n) {
  sync::RwLock<i64> l(i64{0});
  std::vector<JoinHandle<void>> ts;
  for (int i = 0; i < 8; ++i) ts.push_back(executor::spawn(rw_user(&l, n / 8)));
  for (auto& t : ts) co_await std::move(t);
  co_return l.get_unsynchronized() == n / 8 / 8 * 8 ? n : -1;
}

// Notify: ping-pong between two tasks through two Notify objects.
Task<void> notify_pong(sync::Notify* in, sync::Notify* out, i64 n) {
  for (i64 i = 0; i < n; ++i) {
    co_await in->notified();
    out->notify_one();
  }
}
Task<i64> notify_ping_pong(i64 n) {
  sync::Notify a, b;
  auto t = executor::spawn(notify_pong(&a, &b, n));
  for (i64 i = 0; i < n; ++i) {
    a.notify_one();
    co_await b.notified();
  }
  co_await std::move(t);
  co_return n;
}

// Event: 16 waiters released by one set(), n/16 rounds.
Task<void> event_waiter(sync::Event* e) {
  co_await e->wait();
}
Task<i64> event_rounds(i64 n) {
  for (i64 i = 0; i < n / 16; ++i) {
    sync::Event e;
    std::vector<JoinHandle<void>> ts;
    for (int k = 0; k < 16; ++k) ts.push_back(executor::spawn(event_waiter(&e)));
    co_await executor::yield_now();
    e.set();
    for (auto& t : ts) co_await std::move(t);
  }
  co_return n;
}

// Barrier: 4 tasks through n/4 generations.
Task<void> barrier_user(sync::Barrier* b, i64 gens, i64* leaders) {
  for (i64 i = 0; i < gens; ++i) {
    if ((co_await b->wait()).is_leader()) ++*leaders;
  }
}
Task<i64> barrier_gens(i64 n) {
  sync::Barrier b(4);
  i64 leaders = 0;
  std::vector<JoinHandle<void>> ts;
  for (int k = 0; k < 4; ++k) ts.push_back(executor::spawn(barrier_user(&b, n / 4, &leaders)));
  for (auto& t : ts) co_await std::move(t);
  co_return leaders == n / 4 ? n : -1;
}

// Latch: 4 tasks count down, one waits; n/4 latches.
Task<i64> latch_rounds(i64 n) {
  for (i64 i = 0; i < n / 4; ++i) {
    sync::Latch l(4);
    for (int k = 0; k < 4; ++k) {
      executor::spawn(
          [](sync::Latch* l) -> Task<void> {
            l->count_down();
            co_return;
          },
          &l)
          .detach();
    }
    co_await l.wait();
  }
  co_return n;
}

// mpsc: 2 producers, 1 consumer, capacity 64.
Task<void> mpsc_producer(sync::mpsc::Sender<i64> tx, i64 n) {
  for (i64 i = 0; i < n; ++i) {
    i64 v = i;
    (void)co_await tx.send(std::move(v));
  }
}
Task<i64> mpsc_throughput(i64 n) {
  auto [tx, rx] = sync::mpsc::channel<i64>(64);
  executor::spawn(mpsc_producer(tx.clone(), n / 2)).detach();
  executor::spawn(mpsc_producer(std::move(tx), n / 2)).detach();
  i64 got = 0;
  while (auto v = co_await rx.recv()) ++got;
  co_return got;
}

}  // namespace

int main(int argc, char** argv) {
  executor::Runtime one({.workers = 1});
  executor::Runtime two({.workers = 2});
  auto w = [](const char* name, i64 n, executor::Runtime& rt, Task<i64> (*f)(i64)) {
    return bench::Workload{name, n, 3, [&rt, f, n] {
                             bench::check(rt.block_on(f(n)) == n, "result");
                           }};
  };
  return bench::run_main(argc, argv, "executor",
                         {
                             w("multishot_round", 200'000, two, multishot_rounds),
                             w("multishot_fast_path_1w", 1'000'000, one, multishot_fast_path),
                             w("oneshot_reply", 200'000, two, oneshot_replies),
                             w("wait_map_wait_wake_1w", 200'000, one, wait_map_round_trips),
                             w("semaphore_contended", 800'000, two, sem_contended),
                             w("rw_lock_mix", 800'000, two, rw_mix),
                             w("notify_ping_pong_1w", 500'000, one, notify_ping_pong),
                             w("event_broadcast", 160'000, two, event_rounds),
                             w("barrier_arrivals", 200'000, two, barrier_gens),
                             w("latch_count_down", 200'000, two, latch_rounds),
                             w("mpsc_items", 1'000'000, two, mpsc_throughput),
                         });
}
