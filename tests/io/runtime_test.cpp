// The completion thread under load and at shutdown: more operations in flight than the ring
// has entries, 10,000 in-flight operations cancelled at once, and runtime shutdown with
// operations (an accept, receives) waiting forever.
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

#include "io_test_util.hpp"

namespace executor::io {
namespace {

using namespace std::chrono_literals;
using testing::open_fds;

Task<int> nops(int n) {
  int ok = 0;
  for (int i = 0; i < n; ++i) {
    if ((co_await nop()).ok()) ++ok;
  }
  co_return ok;
}

Task<int> many_nops(int tasks, int each) {
  std::vector<JoinHandle<int>> hs;
  for (int i = 0; i < tasks; ++i) hs.push_back(spawn(nops, each));
  int total = 0;
  for (auto& h : hs) total += co_await std::move(h);
  co_return total;
}

TEST(IoRuntime, MoreOperationsInFlightThanRingEntries) {
  // 4 SQ entries, 16 CQ entries; 2,000 tasks keep up to 2,000 nops in flight at once.
  Runtime rt({.workers = 2, .ring_entries = 4});
  EXPECT_EQ(rt.block_on(many_nops(2000, 10)), 20000);
}

// A connected pair of stream sockets owned by TcpStreams.
std::pair<TcpStream, TcpStream> stream_pair() {
  int sv[2];
  EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  return {std::move(*TcpStream::adopt(sv[0])), std::move(*TcpStream::adopt(sv[1]))};
}

Task<int> timed_recvs(int n) {
  auto [a, b] = stream_pair();
  std::vector<Buffer> bufs;
  int timed_out = 0;
  for (int i = 0; i < n; ++i) {
    Buffer buf(16);
    absl::StatusOr<std::size_t> r = co_await a.recv(buf).timeout(1ms);
    if (r.status().code() == absl::StatusCode::kDeadlineExceeded) ++timed_out;
  }
  co_return timed_out;
}

Task<int> many_timed_recvs(int tasks, int each) {
  std::vector<JoinHandle<int>> hs;
  for (int i = 0; i < tasks; ++i) hs.push_back(spawn(timed_recvs, each));
  int total = 0;
  for (auto& h : hs) total += co_await std::move(h);
  co_return total;
}

TEST(IoRuntime, LinkedTimeoutsBeyondRingEntries) {
  Runtime rt({.workers = 2, .ring_entries = 4});
  EXPECT_EQ(rt.block_on(many_timed_recvs(200, 3)), 600);
}

Task<absl::StatusOr<std::size_t>> recv_once(TcpStream* s, std::atomic<int>* started) {
  Buffer buf(64);
  started->fetch_add(1);
  co_return co_await s->recv(buf);
}

Task<void> cancel_many(int n, int sockets) {
  std::vector<std::pair<TcpStream, TcpStream>> pairs;
  for (int i = 0; i < sockets; ++i) pairs.push_back(stream_pair());
  std::atomic<int> started{0};
  std::vector<JoinHandle<absl::StatusOr<std::size_t>>> hs;
  hs.reserve(n);
  for (int i = 0; i < n; ++i) hs.push_back(spawn(recv_once, &pairs[i % sockets].first, &started));
  while (started.load() < n) co_await yield_now();
  co_await nops(10);                            // let the submissions reach the kernel
  for (auto& h : hs) h.abort_for_combinator();  // 10,000 cancellations at once
  int cancelled = 0;
  for (auto& h : hs) {
    try {
      (void)co_await std::move(h);
    } catch (const TaskCancelled&) {
      ++cancelled;
    }
  }
  EXPECT_EQ(cancelled, n);
  // A cancellation reaches the kernel asynchronously: a nop submitted after the joins completes
  // after every cancel request taken with it (they go in the same io_uring_enter).
  co_await nops(2);
  // The sockets still work: every cancelled receive is gone, a new one gets the data.
  Buffer msg = Buffer::copy_of("still alive");
  EXPECT_TRUE((co_await pairs[0].second.send_all(msg)).ok());
  Buffer in(64);
  absl::StatusOr<std::size_t> got = co_await pairs[0].first.recv(in).timeout(5s);
  EXPECT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(in.view(), "still alive");
}

TEST(IoRuntime, Cancel10000InFlightOperationsAtOnce) {
  int before = open_fds();
  {
    Runtime rt({.workers = 2});
    rt.block_on(cancel_many(10000, 50));
  }
  EXPECT_EQ(open_fds(), before);
}

Task<void> accept_forever(TcpListener l, std::atomic<int>* started) {
  started->fetch_add(1);
  absl::StatusOr<TcpStream> s = co_await l.accept();
  ADD_FAILURE() << "accept returned during shutdown: " << s.status();
}

Task<void> recv_forever(TcpStream s, std::atomic<int>* started) {
  Buffer buf(1024);
  started->fetch_add(1);
  (void)co_await s.recv(buf);
  ADD_FAILURE() << "recv returned during shutdown";
}

TEST(IoRuntime, ShutdownWithOperationsInFlightDoesNotHangOrLeak) {
  int before = open_fds();
  auto t0 = std::chrono::steady_clock::now();
  {
    std::vector<TcpStream> keep;  // the peers outlive the runtime: the receives never complete
    Runtime rt({.workers = 2});
    std::atomic<int> started{0};
    absl::StatusOr<TcpListener> l = TcpListener::bind(SocketAddress::ipv4_loopback(0));
    ASSERT_TRUE(l.ok()) << l.status();
    rt.spawn(accept_forever(std::move(*l), &started)).detach();
    for (int i = 0; i < 100; ++i) {
      auto [a, b] = stream_pair();
      rt.spawn(recv_forever(std::move(a), &started)).detach();
      keep.push_back(std::move(b));
    }
    while (started.load() < 101) std::this_thread::yield();
    std::this_thread::sleep_for(20ms);  // the ops reach the kernel / the epoll set
  }  // ~Runtime: cancels the tasks, the completion thread cancels and reaps their ops
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s);
  EXPECT_EQ(open_fds(), before);
}

TEST(IoRuntime, ShutdownRightAfterSubmitting) {
  // Tasks still submitting while the runtime goes down: nothing hangs, nothing leaks (ASan).
  int before = open_fds();
  for (int round = 0; round < 20; ++round) {
    Runtime rt({.workers = 2});
    for (int i = 0; i < 50; ++i) rt.spawn(nops(1000)).detach();
  }
  EXPECT_EQ(open_fds(), before);
}

}  // namespace
}  // namespace executor::io

namespace executor::io {
namespace {

Task<void> token_cancels_recv() {
  auto [a, b] = stream_pair();
  CancellationToken token;
  // Already cancelled: the operation does not start.
  CancellationToken dead;
  dead.cancel();
  Buffer buf(16);
  absl::StatusOr<std::size_t> r0 = co_await a.recv(buf).cancel_on(dead);
  EXPECT_EQ(r0.status().code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(buf.capacity(), 16u);
  // Cancelled while in flight (from another task).
  JoinHandle<void> canceller = spawn(
      [](CancellationToken t) -> Task<void> {
        (void)co_await nop();
        (void)co_await nop();
        t.cancel();
      },
      token);
  absl::StatusOr<std::size_t> r = co_await a.recv(buf).cancel_on(token).timeout(10s);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kCancelled) << r.status();
  EXPECT_EQ(error_info(r.status())->error_number, ECANCELED);
  EXPECT_EQ(buf.capacity(), 16u);  // the buffer came back
  co_await std::move(canceller);
  // The stream still works, and a token that never fires changes nothing.
  CancellationToken idle;
  Buffer msg = Buffer::copy_of("after");
  EXPECT_TRUE((co_await b.send_all(msg)).ok());
  absl::StatusOr<std::size_t> r2 = co_await a.recv(buf).cancel_on(idle);
  EXPECT_TRUE(r2.ok()) << r2.status();
  EXPECT_EQ(buf.view(), "after");
}

TEST(IoRuntime, CancellationTokenCancelsAnOperation) {
  Runtime rt({.workers = 2});
  rt.block_on(token_cancels_recv());
}

Task<int> recv_until_cancelled(TcpStream* s, CancellationToken t) {
  Buffer buf(8);
  absl::StatusOr<std::size_t> r = co_await s->recv(buf).cancel_on(t);
  co_return r.ok() ? 1 : (r.status().code() == absl::StatusCode::kCancelled ? 0 : 100);
}

Task<int> join_int(JoinHandle<int> h) {
  co_return co_await std::move(h);
}

TEST(IoRuntime, TokenCancelRacesFromAnotherThread) {
  // The token fires from a plain thread at arbitrary points: before the hook, between hook and
  // submission, in flight. Every operation ends (cancelled, or with data), nothing leaks.
  Runtime rt({.workers = 2});
  auto [a, b] = stream_pair();
  for (int round = 0; round < 200; ++round) {
    CancellationToken t;
    std::vector<JoinHandle<int>> hs;
    for (int i = 0; i < 5; ++i) hs.push_back(rt.spawn(recv_until_cancelled(&a, t)));
    std::thread killer([t, round]() mutable {
      for (int spin = 0; spin < round % 50; ++spin) std::this_thread::yield();
      t.cancel();
    });
    killer.join();
    for (auto& h : hs) EXPECT_EQ(rt.block_on(join_int(std::move(h))), 0);
  }
}

}  // namespace
}  // namespace executor::io
