// Firmware test: the sync/ primitives on the target. Mutex (FIFO, cancellation of a queued
// waiter), Semaphore (bounded concurrency), RwLock, Barrier, bounded mpsc (back-pressure), and
// the primitives an interrupt handler may drive — WaitMap::wake, Notify, Event, Latch — called
// from an application-defined IRQ24_Handler.
#include <cstdint>
#include <optional>

#include <executor/cortexm/clock.hpp>
#include <executor/cortexm/critical_section.hpp>
#include <executor/cortexm/executor.hpp>
#include <executor/cortexm/frame_pool.hpp>
#include <executor/cortexm/irq.hpp>
#include <executor/cortexm/sleep.hpp>
#include <executor/join_handle.hpp>
#include <executor/sync/barrier.hpp>
#include <executor/sync/event.hpp>
#include <executor/sync/latch.hpp>
#include <executor/sync/mpsc.hpp>
#include <executor/sync/mutex.hpp>
#include <executor/sync/notify.hpp>
#include <executor/sync/rw_lock.hpp>
#include <executor/sync/semaphore.hpp>
#include <executor/sync/wait_map.hpp>
#include <executor/task.hpp>
#include <executor/yield.hpp>

#include "test_support.hpp"

EXECUTOR_CORTEXM_FRAME_POOLS(executor::cortexm::FramePoolSpec{64, 16},
                             executor::cortexm::FramePoolSpec{128, 16},
                             executor::cortexm::FramePoolSpec{256, 8},
                             executor::cortexm::FramePoolSpec{512, 4})

namespace {

using executor::JoinHandle;
using executor::Task;
namespace cm = executor::cortexm;
namespace sy = executor::sync;
using Ticks = cm::TickClock::duration;

constexpr unsigned kIrq = 24;

std::int64_t ticks_now() {
  return cm::TickClock::now().time_since_epoch().count();
}

JoinHandle<void> spawn(Task<void> t) {
  auto r = cm::try_spawn(std::move(t));
  CHECK(r);
  return std::move(r.handle);
}

int g_log[64];
int g_nlog = 0;
void log_event(int v) {
  CHECK(g_nlog < 64);
  g_log[g_nlog++] = v;
}
void expect_log(const int* expected, int n) {
  CHECK_EQ(g_nlog, n);
  for (int i = 0; i < n; ++i) CHECK_EQ(g_log[i], expected[i]);
}

// --- what the interrupt handler does -----------------------------------------------------
enum class Cmd { kNone, kWakeMap, kNotify, kSetEvent, kCountDown };
sy::WaitMap<int, int, 8> g_map;
sy::Notify g_notify;
sy::Event g_event;
sy::Latch g_latch(3);
Cmd g_cmd = Cmd::kNone;
int g_key = 0;
sy::WakeKind g_wake_kind = sy::WakeKind::kNoMatch;

// Pends the handler; it runs at the loop's next window (after the calling task suspends).
void raise(Cmd cmd, int key = 0) {
  cm::CriticalSection cs;
  g_cmd = cmd;
  g_key = key;
  cm::pend_irq(kIrq);
}

// --- Mutex -------------------------------------------------------------------------------
Task<void> mutex_worker(sy::Mutex<int>* m, int id, int rounds) {
  for (int r = 0; r < rounds; ++r) {
    auto guard = co_await m->lock();
    log_event(id);
    const int v = *guard;
    co_await cm::sleep(Ticks(1));  // hold the lock across a suspension
    *guard = v + 1;
  }
}

Task<void> mutex_fifo() {
  g_nlog = 0;
  sy::Mutex<int> m(0);
  JoinHandle<void> h[3] = {spawn(mutex_worker(&m, 1, 3)), spawn(mutex_worker(&m, 2, 3)),
                           spawn(mutex_worker(&m, 3, 3))};
  for (auto& x : h) co_await std::move(x);
  CHECK_EQ(m.get_unsynchronized(), 9);
  const int fifo[] = {1, 2, 3, 1, 2, 3, 1, 2, 3};
  expect_log(fifo, 9);
}

Task<void> lock_then_log(sy::Mutex<int>* m, int id) {
  auto guard = co_await m->lock();
  log_event(id);
}

// A queued lock waiter destroyed before the lock reaches it: the lock passes over it.
Task<void> mutex_cancel() {
  g_nlog = 0;
  sy::Mutex<int> m(0);
  auto held = co_await m.lock();
  JoinHandle<void> a = spawn(lock_then_log(&m, 1));
  JoinHandle<void> b = spawn(lock_then_log(&m, 2));
  co_await executor::yield_now();  // both queue behind us
  a.abort_for_combinator();
  co_await executor::yield_now();  // a's frame is destroyed: its queue node is gone
  CHECK(a.is_finished());
  held.unlock();
  co_await std::move(b);
  const int only_b[] = {2};
  expect_log(only_b, 1);
  CHECK(!m.is_locked());
}

// --- Semaphore ---------------------------------------------------------------------------
int g_inflight = 0;
int g_max_inflight = 0;

Task<void> limited(sy::Semaphore* s) {
  auto permit = co_await s->acquire();
  if (++g_inflight > g_max_inflight) g_max_inflight = g_inflight;
  co_await cm::sleep(Ticks(2));
  --g_inflight;
}

Task<void> semaphore_limit() {
  sy::Semaphore s(2);
  g_inflight = g_max_inflight = 0;
  const std::int64_t t0 = ticks_now();
  JoinHandle<void> h[5];
  for (auto& x : h) x = spawn(limited(&s));
  for (auto& x : h) co_await std::move(x);
  CHECK_EQ(g_max_inflight, 2);
  CHECK_EQ(ticks_now() - t0, 6);  // three waves of two ticks
  CHECK(s.try_acquire(2).has_value());
}

// --- RwLock ------------------------------------------------------------------------------
Task<void> reader(sy::RwLock<int>* l, int id) {
  auto g = co_await l->read();
  log_event(id);
  co_await cm::sleep(Ticks(2));
  log_event(id + 100);
}

Task<void> writer(sy::RwLock<int>* l) {
  auto g = co_await l->write();
  log_event(9);
  *g = 42;
}

Task<void> rw_lock() {
  g_nlog = 0;
  sy::RwLock<int> l(0);
  JoinHandle<void> r1 = spawn(reader(&l, 1));
  JoinHandle<void> r2 = spawn(reader(&l, 2));
  co_await executor::yield_now();  // both readers inside at once
  JoinHandle<void> w = spawn(writer(&l));
  co_await std::move(r1);
  co_await std::move(r2);
  co_await std::move(w);
  const int order[] = {1, 2, 101, 102, 9};  // the writer waits for both readers
  expect_log(order, 5);
  auto g = co_await l.read();
  CHECK_EQ(*g, 42);
}

// --- Barrier -----------------------------------------------------------------------------
int g_leaders = 0;

Task<void> arrive(sy::Barrier* b, int delay) {
  co_await cm::sleep(Ticks(delay));
  auto r = co_await b->wait();
  if (r.is_leader()) ++g_leaders;
  log_event(static_cast<int>(ticks_now()));
}

Task<void> barrier() {
  g_nlog = 0;
  g_leaders = 0;
  sy::Barrier b(3);
  const std::int64_t t0 = ticks_now();
  JoinHandle<void> h[3] = {spawn(arrive(&b, 1)), spawn(arrive(&b, 4)), spawn(arrive(&b, 2))};
  for (auto& x : h) co_await std::move(x);
  CHECK_EQ(g_leaders, 1);
  CHECK_EQ(g_nlog, 3);
  for (int i = 0; i < 3; ++i) CHECK_EQ(g_log[i], t0 + 4);  // all leave with the last arrival
}

// --- mpsc ----------------------------------------------------------------------------------
Task<void> produce(sy::mpsc::Sender<int> tx, int n) {
  for (int i = 0; i < n; ++i) {
    auto r = co_await tx.send(int(i));
    CHECK(r.has_value());
    log_event(static_cast<int>(ticks_now()));  // when each send completed
  }
}

Task<void> mpsc_backpressure() {
  g_nlog = 0;
  auto [tx, rx] = sy::mpsc::channel<int>(2);
  const std::int64_t t0 = ticks_now();
  JoinHandle<void> p = spawn(produce(std::move(tx), 6));
  int expected = 0;
  while (std::optional<int> v = co_await rx.recv()) {
    CHECK_EQ(*v, expected);
    ++expected;
    co_await cm::sleep(Ticks(1));  // a slow consumer
  }
  CHECK_EQ(expected, 6);
  co_await std::move(p);
  // Sends 0 and 1 fill the ring at once; the later ones wait for the consumer to make room.
  CHECK_EQ(g_log[0], t0);
  CHECK_EQ(g_log[1], t0);
  CHECK(g_log[5] > t0 + 2);
}

// --- driven by the interrupt handler -------------------------------------------------------
Task<void> request(int key, int* out) {
  auto r = co_await g_map.wait(key);
  *out = r ? *r : -1;
}

Task<void> wait_map_from_handler() {
  int got[3] = {0, 0, 0};
  JoinHandle<void> h[3] = {spawn(request(10, &got[0])), spawn(request(20, &got[1])),
                           spawn(request(30, &got[2]))};
  co_await executor::yield_now();
  CHECK_EQ(g_map.waiting(), 3u);
  auto dup = co_await g_map.wait(20);  // key taken: never suspends
  CHECK(!dup.has_value());
  CHECK(dup.error() == sy::WaitError::kDuplicate);
  for (int key : {20, 10, 30, 99}) {
    raise(Cmd::kWakeMap, key);
    co_await executor::yield_now();  // the handler runs in the window after this run
    CHECK(g_wake_kind == (key == 99 ? sy::WakeKind::kNoMatch : sy::WakeKind::kWoke));
  }
  for (auto& x : h) co_await std::move(x);
  CHECK_EQ(got[0], 20);
  CHECK_EQ(got[1], 40);
  CHECK_EQ(got[2], 60);
  CHECK_EQ(g_map.waiting(), 0u);
}

Task<void> notified(int id) {
  co_await g_notify.notified();
  log_event(id);
}

Task<void> event_waiter(int id) {
  co_await g_event.wait();
  log_event(id);
}

Task<void> latch_waiter() {
  co_await g_latch.wait();
  log_event(static_cast<int>(ticks_now()));
}

Task<void> notify_event_latch_from_handler() {
  g_nlog = 0;
  // Notify: one waiter per notify_one, FIFO; a notify with nobody waiting leaves a permit.
  JoinHandle<void> n1 = spawn(notified(1));
  JoinHandle<void> n2 = spawn(notified(2));
  co_await executor::yield_now();
  raise(Cmd::kNotify);
  co_await std::move(n1);
  CHECK(!n2.is_finished());
  raise(Cmd::kNotify);
  co_await std::move(n2);
  raise(Cmd::kNotify);
  co_await executor::yield_now();
  co_await g_notify.notified();  // the stored permit: completes at once
  const int notified_order[] = {1, 2};
  expect_log(notified_order, 2);

  // Event: set() from the handler releases every waiter.
  g_nlog = 0;
  JoinHandle<void> e[3] = {spawn(event_waiter(1)), spawn(event_waiter(2)), spawn(event_waiter(3))};
  co_await executor::yield_now();
  raise(Cmd::kSetEvent);
  for (auto& x : e) co_await std::move(x);
  const int event_order[] = {1, 2, 3};
  expect_log(event_order, 3);

  // Latch(3): counted down by the handler once per tick; the waiter leaves after the third.
  g_nlog = 0;
  const std::int64_t t0 = ticks_now();
  JoinHandle<void> l = spawn(latch_waiter());
  for (int i = 0; i < 3; ++i) {
    co_await cm::sleep(Ticks(1));
    raise(Cmd::kCountDown);
  }
  co_await std::move(l);
  CHECK_EQ(g_nlog, 1);
  CHECK_EQ(g_log[0], t0 + 3);
}

}  // namespace

// The application's handler of line 24 (replacing the default waker-list handler).
extern "C" void IRQ24_Handler() noexcept {
  switch (g_cmd) {
    case Cmd::kWakeMap: {
      auto out = g_map.wake(g_key, g_key * 2);
      g_wake_kind = out.kind;
      break;
    }
    case Cmd::kNotify:
      g_notify.notify_one();
      break;
    case Cmd::kSetEvent:
      g_event.set();
      break;
    case Cmd::kCountDown:
      g_latch.count_down();
      break;
    case Cmd::kNone:
      break;
  }
  g_cmd = Cmd::kNone;
}

int main() {
  auto& ex = cm::executor();
  cm::enable_irq(kIrq);
  ex.block_on(mutex_fifo());
  CHECK_CLEAN();
  test::pass("Mutex: FIFO hand-over across suspensions");
  ex.block_on(mutex_cancel());
  CHECK_CLEAN();
  test::pass("Mutex: a cancelled queued waiter is skipped");
  ex.block_on(semaphore_limit());
  CHECK_CLEAN();
  test::pass("Semaphore: at most two holders");
  ex.block_on(rw_lock());
  CHECK_CLEAN();
  test::pass("RwLock: shared readers, exclusive writer");
  ex.block_on(barrier());
  CHECK_CLEAN();
  test::pass("Barrier: one leader, released together");
  ex.block_on(mpsc_backpressure());
  CHECK_CLEAN();
  test::pass("mpsc: bounded channel applies back-pressure, keeps order, closes");
  ex.block_on(wait_map_from_handler());
  CHECK_CLEAN();
  test::pass("WaitMap: woken by key from an interrupt handler");
  ex.block_on(notify_event_latch_from_handler());
  CHECK_CLEAN();
  test::pass("Notify, Event, Latch: driven from an interrupt handler");
  test::report_resources();
  return 0;
}
