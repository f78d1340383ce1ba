// The sync awaiters under the combinators: Semaphore::acquire, Mutex::lock, Notify::notified and
// multishot/oneshot receives given to executor::timeout, when_any and run_until_cancelled (which
// move them into a child task and destroy it when it loses). Nothing may be lost or leaked: no
// permit, no lock, no notification, no value — also when the loss races a grant.
#include <executor/executor.hpp>
#include <executor/sync/multishot.hpp>
#include <executor/sync/mutex.hpp>
#include <executor/sync/notify.hpp>
#include <executor/sync/oneshot.hpp>
#include <executor/sync/semaphore.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <variant>

namespace {

using namespace std::chrono_literals;
using executor::CancellationToken;
using executor::JoinHandle;
using executor::Runtime;
using executor::Task;
using executor::sync::Mutex;
using executor::sync::MutexGuard;
using executor::sync::Notify;
using executor::sync::Semaphore;
using executor::sync::SemaphorePermit;

Task<void> cancel_after(CancellationToken t, std::chrono::microseconds d) {
  co_await executor::sleep(d);
  t.cancel();
}

TEST(SyncCompose, TimeoutWhenAnyAndRunUntilCancelledCompile) {
  Runtime rt({.workers = 2});
  rt.block_on([]() -> Task<void> {
    Semaphore sem(0);
    absl::StatusOr<SemaphorePermit> p = co_await executor::timeout(5ms, sem.acquire());
    EXPECT_EQ(p.status().code(), absl::StatusCode::kDeadlineExceeded);
    sem.add_permits(1);
    absl::StatusOr<SemaphorePermit> q = co_await executor::timeout(1s, sem.acquire());
    EXPECT_TRUE(q.ok());
    q = absl::CancelledError("drop the permit");
    EXPECT_EQ(sem.available_permits(), 1u);

    Mutex<int> m(0);
    {
      MutexGuard<int> held = co_await m.lock();
      auto raced = co_await executor::when_any(m.lock(), executor::sleep(5ms));
      EXPECT_EQ(raced.index(), 1u);  // the sleep won; the lock waiter was withdrawn
    }
    EXPECT_FALSE(m.is_locked());
    absl::StatusOr<MutexGuard<int>> g = co_await executor::timeout(1s, m.lock());
    EXPECT_TRUE(g.ok());
    g = absl::CancelledError("unlock");
    EXPECT_FALSE(m.is_locked());

    Notify n;
    CancellationToken stop;
    JoinHandle<void> c = executor::spawn(cancel_after, stop, 5ms);
    absl::Status s = co_await executor::run_until_cancelled(stop, n.notified());
    EXPECT_TRUE(absl::IsCancelled(s));
    co_await std::move(c);
    n.notify_one();  // stored as the permit (the cancelled waiter is gone)
    absl::Status t = co_await executor::timeout(1s, n.notified());
    EXPECT_TRUE(t.ok());

    auto one = executor::sync::oneshot::channel<int>();
    auto early = co_await executor::timeout(5ms, one.receiver.recv());
    EXPECT_EQ(early.status().code(), absl::StatusCode::kDeadlineExceeded);
    EXPECT_TRUE(std::move(one.sender).send(3));  // the receiver is still there
    auto three = co_await executor::timeout(1s, one.receiver.recv());
    EXPECT_TRUE(three.ok() && three->has_value() && **three == 3);

    auto ch = executor::sync::multishot::channel<int>();
    auto none = co_await executor::timeout(5ms, ch.receiver.recv());
    EXPECT_EQ(none.status().code(), absl::StatusCode::kDeadlineExceeded);
    ch.sender.send(7);
    auto seven = co_await executor::timeout(1s, ch.receiver.recv());
    EXPECT_TRUE(seven.ok() && seven->has_value() && **seven == 7);
  }());
}

// A releaser hands out permits / the lock / notifications while waiters time out at varying
// points: a grant that races the timeout is either used or passed on, never lost.
Task<void> release_loop(Semaphore* sem, Mutex<int>* m, Notify* n, int rounds) {
  for (int i = 0; i < rounds; ++i) {
    sem->add_permits(1);
    {
      MutexGuard<int> g = co_await m->lock();
      ++*g;
    }
    n->notify_one();
    if (i % 3 == 0) co_await executor::sleep(std::chrono::microseconds(i % 50));
    co_await executor::yield_now();
  }
}

Task<void> racing_waiter(Semaphore* sem, Mutex<int>* m, Notify* n, int rounds, int* permits,
                         int* locked, int* notified) {
  for (int i = 0; i < rounds; ++i) {
    auto d = std::chrono::microseconds(i % 40);
    absl::StatusOr<SemaphorePermit> p = co_await executor::timeout(d, sem->acquire());
    if (p.ok()) {
      p->forget();  // counted: taken for good
      ++*permits;
    }
    absl::StatusOr<MutexGuard<int>> g = co_await executor::timeout(d, m->lock());
    if (g.ok()) {
      ++**g;
      ++*locked;
    }
    absl::Status s = co_await executor::timeout(d, n->notified());
    if (s.ok()) ++*notified;
  }
}

TEST(SyncCompose, GrantsRacingTimeoutsAreNeverLost) {
  Runtime rt({.workers = 2});
  rt.block_on([]() -> Task<void> {
    constexpr int kRounds = 2000;
    Semaphore sem(0);
    Mutex<int> m(0);
    Notify n;
    int permits = 0, locked = 0, notified = 0;
    JoinHandle<void> rel = executor::spawn(release_loop, &sem, &m, &n, kRounds);
    co_await racing_waiter(&sem, &m, &n, kRounds, &permits, &locked, &notified);
    co_await std::move(rel);
    // Every permit added is either taken or still in the semaphore.
    EXPECT_EQ(static_cast<int>(sem.available_permits()) + permits, kRounds);
    // The lock is free, was never lost to a cancelled waiter, and every holder counted once.
    EXPECT_FALSE(m.is_locked());
    absl::StatusOr<MutexGuard<int>> g = co_await executor::timeout(1s, m.lock());
    EXPECT_TRUE(g.ok());
    if (g.ok()) {
      EXPECT_EQ(**g, kRounds + locked);
    }
    // A cancelled waiter that had been notified passes the notification on (Notify::cancel):
    // the waiter never sees more notifications than were sent.
    EXPECT_LE(notified, kRounds);
  }());
}

}  // namespace
