// Each worker's own io_uring ring (runtime/linux/worker_ring.hpp): completions that arrive while
// the worker is parked (the completion thread reaps them), while it is busy with a task that
// never yields (another worker runs the woken task), and cancels that come from other workers
// and plain threads at any point of an operation's life.
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <executor/cancellation_token.hpp>
#include <executor/io/io.hpp>
#include <executor/join_handle.hpp>
#include <executor/runtime.hpp>
#include <executor/spawn.hpp>
#include <executor/task.hpp>
#include <executor/yield.hpp>

#include "../spread_mode.hpp"
#include "io_test_util.hpp"

namespace executor::io {
namespace {

using namespace std::chrono_literals;
using testing::open_fds;

// A stream socket pair: one end owned by a TcpStream, the other a raw fd for plain threads.
struct Pair {
  TcpStream stream;
  int raw = -1;
  Pair() {
    int sv[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    stream = std::move(*TcpStream::adopt(sv[0]));
    raw = sv[1];
  }
  ~Pair() { ::close(raw); }
};

template <class T>
Task<T> join(JoinHandle<T> h) {
  co_return co_await std::move(h);
}

Task<std::string> recv_once(TcpStream* s, std::atomic<bool>* started) {
  Buffer buf(16);
  started->store(true);
  absl::StatusOr<std::size_t> r = co_await s->recv(buf);
  if (!r.ok()) co_return std::string(r.status().message());
  co_return std::string(buf.view());
}

TEST(WorkerRing, ParkedWorkersStillGetTheirCompletions) {
  // The receive is submitted on its worker's ring; both workers park; the data comes from a
  // plain thread later, so the completion thread must reap the parked worker's ring.
  int fds = open_fds();
  {
    Runtime rt({.workers = 2});
    for (int round = 0; round < 20; ++round) {
      Pair p;
      std::atomic<bool> started{false};
      JoinHandle<std::string> h = rt.spawn(recv_once(&p.stream, &started));
      while (!started.load()) std::this_thread::yield();
      std::this_thread::sleep_for(std::chrono::milliseconds(round % 5 == 0 ? 20 : round % 3));
      ASSERT_EQ(::write(p.raw, "ping", 4), 4);
      EXPECT_EQ(rt.block_on(join(std::move(h))), "ping");
    }
  }
  EXPECT_EQ(open_fds(), fds);
}

// Returns false if it gave up: the receive never completed while both spinners ran.
Task<bool> spin_until(std::atomic<bool>* stop, std::atomic<int>* spinning) {
  spinning->fetch_add(1);
  // Never yields: this worker cannot reap its ring until the flag is set (bounded for safety).
  auto give_up = std::chrono::steady_clock::now() + 10s;
  while (!stop->load()) {
    if (std::chrono::steady_clock::now() > give_up) co_return false;
  }
  co_return true;
}

Task<int> recv_then_stop(TcpStream* s, std::atomic<bool>* started, std::atomic<bool>* stop) {
  Buffer buf(16);
  started->store(true);
  absl::StatusOr<std::size_t> r = co_await s->recv(buf);
  stop->store(true);
  co_return r.ok() ? static_cast<int>(*r) : -1;
}

TEST(WorkerRing, BusyWorkersCompletionReachesAnotherWorker) {
  // Two of three workers spin in tasks that never yield until the receive completes. When the
  // receive's ring belongs to a spinning worker, only the completion thread can reap it (its
  // bounded sleep) and hand the task to the free worker; otherwise this test would hang.
  Runtime rt({.workers = 3});
  for (int round = 0; round < 5; ++round) {
    Pair p;
    std::atomic<bool> started{false}, stop{false};
    std::atomic<int> spinning{0};
    JoinHandle<int> r = rt.spawn(recv_then_stop(&p.stream, &started, &stop));
    while (!started.load()) std::this_thread::yield();
    std::this_thread::sleep_for(5ms);  // the receive reaches the kernel
    JoinHandle<bool> s1 = rt.spawn(spin_until(&stop, &spinning));
    JoinHandle<bool> s2 = rt.spawn(spin_until(&stop, &spinning));
    while (spinning.load() < 2) std::this_thread::yield();
    ASSERT_EQ(::write(p.raw, "data", 4), 4);
    EXPECT_EQ(rt.block_on(join(std::move(r))), 4);
    EXPECT_TRUE(rt.block_on(join(std::move(s1))));
    EXPECT_TRUE(rt.block_on(join(std::move(s2))));
  }
}

// Spins (never yields) for `d`.
Task<void> spin_for(std::chrono::milliseconds d) {
  auto end = std::chrono::steady_clock::now() + d;
  while (std::chrono::steady_clock::now() < end) {
  }
  co_return;
}

Task<int> recv_after_go(TcpStream* s, std::atomic<bool>* started, std::atomic<bool>* go,
                        std::atomic<bool>* stop) {
  started->store(true);
  while (!go->load()) {
  }
  Buffer buf(16);
  absl::StatusOr<std::size_t> r = co_await s->recv(buf);
  stop->store(true);
  co_return r.ok() ? static_cast<int>(*r) : -1;
}

TEST(WorkerRing, FirstOpInFlightThenLongTaskIsStillReaped) {
  // A worker puts the first op in flight on its ring and goes straight on to a long task, with
  // the completion thread in a long sleep (nothing was in flight; eager mode arms no watch) and
  // the other worker parked: the flush must tell the completion thread to look at the ring, or
  // the completion waits for the long task (its 10 s bound here) although a worker is free.
  executor::testing::SpreadMode eager("eager");
  Runtime rt({.workers = 2});
  for (int round = 0; round < 6; ++round) {
    Pair p;
    std::this_thread::sleep_for(100ms);  // both workers park; the completion thread sleeps long
    std::atomic<bool> started{false}, go{false}, stop{false};
    std::atomic<int> spinning{0};
    JoinHandle<int> r = rt.spawn(recv_after_go(&p.stream, &started, &go, &stop));
    while (!started.load()) std::this_thread::yield();
    // The other worker is busy for 20 ms, so the long task waits in the inject queue until the
    // receive's worker is done with it: that worker takes it right after its flush, unparked.
    JoinHandle<void> busy = rt.spawn(spin_for(20ms));
    std::this_thread::sleep_for(2ms);
    JoinHandle<bool> l = rt.spawn(spin_until(&stop, &spinning));
    go.store(true);
    while (spinning.load() < 1) std::this_thread::yield();
    std::this_thread::sleep_for(50ms);  // the other worker finishes and parks
    ASSERT_EQ(::write(p.raw, "data", 4), 4);
    EXPECT_EQ(rt.block_on(join(std::move(r))), 4);
    EXPECT_TRUE(rt.block_on(join(std::move(l))));  // false: nobody reaped it for 10 s
    rt.block_on(join(std::move(busy)));
  }
}

Task<int> recv_until_cancelled(TcpStream* s, CancellationToken t) {
  Buffer buf(8);
  absl::StatusOr<std::size_t> r = co_await s->recv(buf).cancel_on(t);
  co_return r.ok() ? 1 : (r.status().code() == absl::StatusCode::kCancelled ? 0 : 100);
}

Task<void> cancel_after(CancellationToken t, int yields) {
  for (int i = 0; i < yields; ++i) co_await yield_now();
  t.cancel();
}

Task<int> cross_worker_round(TcpStream* s, int round) {
  // Receivers and cancellers spread over both workers: an op on one worker's ring (still
  // pending, or in the kernel) is cancelled from the other worker or from its own.
  std::vector<CancellationToken> tokens(20);
  std::vector<JoinHandle<int>> rs;
  std::vector<JoinHandle<void>> cs;
  for (int i = 0; i < 20; ++i) rs.push_back(spawn(recv_until_cancelled(s, tokens[i])));
  for (int i = 0; i < 20; ++i) cs.push_back(spawn(cancel_after(tokens[i], (i * 7 + round) % 5)));
  int sum = 0;
  for (auto& h : rs) sum += co_await std::move(h);
  for (auto& h : cs) co_await std::move(h);
  co_return sum;
}

TEST(WorkerRing, CancelsFromOtherWorkersAtAnyPoint) {
  int fds = open_fds();
  {
    Runtime rt({.workers = 2});
    Pair p;
    for (int round = 0; round < 100; ++round) {
      EXPECT_EQ(rt.block_on(cross_worker_round(&p.stream, round)), 0);
    }
    // The stream still works afterwards: no cancelled receive consumed anything.
    ASSERT_EQ(::write(p.raw, "x", 1), 1);
    std::atomic<bool> started{false};
    EXPECT_EQ(rt.block_on(recv_once(&p.stream, &started)), "x");
  }
  EXPECT_EQ(open_fds(), fds);
}

Task<int> nop_burst(int n) {
  // Many operations started in one pass: they reach the kernel in one batch per flush.
  std::vector<JoinHandle<absl::Status>> hs;
  for (int i = 0; i < n; ++i) {
    hs.push_back(spawn([]() -> Task<absl::Status> { co_return co_await nop(); }));
  }
  int ok = 0;
  for (auto& h : hs) ok += (co_await std::move(h)).ok() ? 1 : 0;
  co_return ok;
}

TEST(WorkerRing, BurstsLargerThanTheRing) {
  Runtime rt({.workers = 2, .ring_entries = 2});
  for (int i = 0; i < 10; ++i) EXPECT_EQ(rt.block_on(nop_burst(300)), 300);
}

}  // namespace
}  // namespace executor::io
