// executor::io::Receiver (multishot receive with provided buffers), on every backend: a next()
// destroyed while suspended loses nothing, timeouts and tokens, end of stream, ENOBUFS recovery
// (more data than buffers), every buffer held, the receiver destroyed with chunks held and with
// its op armed, runtime teardown, bad input, and an echo stress of 10,000 messages. Also the
// waiting itself (detail::MultishotNext, shared with Acceptor): a next() destroyed with its timer
// and token armed, and deadlines and cancels racing arriving data.
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include <executor/cancellation_token.hpp>
#include <executor/io/io.hpp>
#include <executor/join_handle.hpp>
#include <executor/runtime.hpp>
#include <executor/sleep.hpp>
#include <executor/spawn.hpp>
#include <executor/timeout.hpp>
#include <executor/yield.hpp>

#include "../spread_mode.hpp"
#include "io_test_util.hpp"

namespace executor::io {
namespace {

using namespace std::chrono_literals;
using testing::cancel_after;
using testing::destroy_bounded_waiter;
using testing::destroy_waiter;
using testing::open_fds;
using testing::race_next;
using testing::settle_fds;
using testing::wait_until_positive;

// A connected loopback TCP pair of blocking sockets: `a` for the test's raw peer, `b` to adopt.
void tcp_pair(int& a, int& b) {
  int l = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(l, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  ASSERT_EQ(::bind(l, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(l, 1), 0);
  ASSERT_EQ(::getsockname(l, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  a = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(a, 0);
  ASSERT_EQ(::connect(a, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  b = ::accept4(l, nullptr, nullptr, SOCK_CLOEXEC);
  ASSERT_GE(b, 0);
  ::close(l);
  int one = 1;
  ::setsockopt(a, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

void send_raw(int fd, std::string_view s) {
  ASSERT_EQ(::send(fd, s.data(), s.size(), MSG_NOSIGNAL), static_cast<ssize_t>(s.size()));
}

// Receives until `want` bytes or the end; releases every chunk at once.
Task<std::string> collect(Receiver* rx, std::size_t want) {
  std::string got;
  while (got.size() < want) {
    absl::StatusOr<Chunk> c = co_await rx->next().timeout(5s);
    EXPECT_TRUE(c.ok()) << c.status();
    if (!c.ok() || c->empty()) break;
    got.append(c->view());
  }
  co_return got;
}

Task<absl::StatusOr<Chunk>> next_of(Receiver* rx) {
  co_return co_await rx->next();
}

Task<absl::StatusOr<Chunk>> next_bounded(Receiver* rx, CancellationToken token) {
  co_return co_await rx->next().timeout(10ms).cancel_on(token);
}

TEST(Receiver, NextDestroyedWhileSuspendedLosesNothing) {
  int before = open_fds();
  int peer, fd;
  tcp_pair(peer, fd);
  {
    Runtime rt({.workers = 2});
    rt.block_on([](int fd, int peer) -> Task<void> {
      auto s = TcpStream::adopt(fd);
      EXPECT_TRUE(s.ok());
      auto rx = s->receiver({.buffers = 4, .buffer_size = 64});
      EXPECT_TRUE(rx.ok()) << rx.status();
      // The child suspended in next() is cancelled (its frame destroyed) at the deadline.
      auto r = co_await executor::timeout(20ms, next_of(&*rx));
      EXPECT_EQ(r.status().code(), absl::StatusCode::kDeadlineExceeded);
      send_raw(peer, "hello");
      std::string got = co_await collect(&*rx, 5);
      EXPECT_EQ(got, "hello");
      // Destroyed again, this time with data arriving meanwhile: it stays queued.
      for (int i = 0; i < 20; ++i) {
        if (i < 14) {
          co_await destroy_waiter(next_of, &*rx, i);
        } else {
          // With its timer and token hook armed: they are withdrawn with the frame.
          co_await destroy_bounded_waiter(next_bounded, &*rx, i % 2 == 0);
        }
        std::string m(3, 'm');
        m[1] = static_cast<char>('a' + i);
        send_raw(peer, m);
        std::string got2 = co_await collect(&*rx, m.size());
        EXPECT_EQ(got2, m);
      }
    }(fd, peer));
  }
  ::close(peer);
  EXPECT_EQ(settle_fds(before), before);
}

TEST(Receiver, TimeoutAndTokenLoseNothing) {
  int peer, fd;
  tcp_pair(peer, fd);
  Runtime rt({.workers = 2});
  rt.block_on([](int fd, int peer) -> Task<void> {
    auto s = TcpStream::adopt(fd);
    auto rx = s->receiver();
    EXPECT_TRUE(rx.ok());
    auto t0 = std::chrono::steady_clock::now();
    absl::StatusOr<Chunk> c = co_await rx->next().timeout(30ms);
    EXPECT_EQ(c.status().code(), absl::StatusCode::kDeadlineExceeded) << c.status();
    EXPECT_GE(std::chrono::steady_clock::now() - t0, 30ms);
    c = co_await rx->next().timeout(0ms);  // only what is queued
    EXPECT_EQ(c.status().code(), absl::StatusCode::kDeadlineExceeded);

    CancellationToken token;
    JoinHandle<void> canceller = spawn(cancel_after, token, 10ms);
    c = co_await rx->next().cancel_on(token);
    EXPECT_EQ(c.status().code(), absl::StatusCode::kCancelled) << c.status();
    co_await std::move(canceller);
    c = co_await rx->next().cancel_on(token);  // already cancelled: not started
    EXPECT_EQ(c.status().code(), absl::StatusCode::kCancelled);

    send_raw(peer, "after");
    std::string got = co_await collect(&*rx, 5);
    EXPECT_EQ(got, "after");
    // Data that is already there wins over a timeout.
    send_raw(peer, "x");
    co_await executor::sleep(20ms);
    c = co_await rx->next().timeout(0ms);
    EXPECT_TRUE(c.ok()) << c.status();
    if (c.ok()) {
      EXPECT_EQ(c->view(), "x");
    }
  }(fd, peer));
  ::close(peer);
}

TEST(Receiver, DeadlinesAndCancelsRacingDataLoseNothing) {
  // Bytes arrive every half millisecond while next() waits with a deadline (or a token cancelled)
  // about as far away: each call yields a chunk, kDeadlineExceeded or kCancelled, and together
  // the chunks are every byte once, in order (a result that raced the wake is taken, not lost).
  constexpr int kBytes = 300;
  int peer, fd;
  tcp_pair(peer, fd);
  // Halfway the sender waits until a bound has been hit: a loaded machine may run the receiver
  // so late that data is always there, and the bounds must be raced at least once.
  std::atomic<int> bounds_seen{0};
  std::thread sender([peer, &bounds_seen] {
    for (int i = 0; i < kBytes; ++i) {
      if (i == kBytes / 2) wait_until_positive(bounds_seen);
      char c = static_cast<char>('a' + i % 26);
      ASSERT_EQ(::send(peer, &c, 1, MSG_NOSIGNAL), 1);
      std::this_thread::sleep_for(500us);
    }
  });
  Runtime rt({.workers = 2});
  rt.block_on([](int fd, std::atomic<int>* bounds_seen) -> Task<void> {
    auto s = TcpStream::adopt(fd);
    auto rx = s->receiver({.buffers = 4, .buffer_size = 64});
    std::string got;
    int bounded = 0;
    for (int call = 0; got.size() < kBytes && call < 3000; ++call) {
      absl::StatusOr<Chunk> c = co_await race_next(&*rx, call, 500us, &bounded);
      bounds_seen->store(bounded, std::memory_order_relaxed);
      if (c.ok()) {
        EXPECT_FALSE(c->empty());
        got.append(c->view());
      }
    }
    std::string want;
    for (int i = 0; i < kBytes; ++i) want += static_cast<char>('a' + i % 26);
    EXPECT_EQ(got, want);
    EXPECT_GT(bounded, 0);  // the bounds were hit at all
  }(fd, &bounds_seen));
  sender.join();
  ::close(peer);
}

TEST(Receiver, PeerCloseIsAnEmptyChunkEveryTime) {
  int peer, fd;
  tcp_pair(peer, fd);
  Runtime rt({.workers = 2});
  rt.block_on([](int fd, int peer) -> Task<void> {
    auto s = TcpStream::adopt(fd);
    auto rx = s->receiver({.buffers = 2, .buffer_size = 8});
    send_raw(peer, "0123456789abcdef-tail");
    ::shutdown(peer, SHUT_WR);
    std::string got;
    for (;;) {
      absl::StatusOr<Chunk> c = co_await rx->next().timeout(5s);
      EXPECT_TRUE(c.ok()) << c.status();
      if (!c.ok() || c->empty()) break;
      EXPECT_LE(c->size(), 8u);
      got.append(c->view());
    }
    EXPECT_EQ(got, "0123456789abcdef-tail");
    for (int i = 0; i < 3; ++i) {
      absl::StatusOr<Chunk> c = co_await rx->next();
      EXPECT_TRUE(c.ok() && c->empty());
    }
  }(fd, peer));
  ::close(peer);
}

TEST(Receiver, RecoversWhenTheKernelRunsOutOfBuffers) {
  // 4 buffers of 16 bytes against 64 KiB sent at once: the receive stops with ENOBUFS many
  // times and is armed again; nothing is lost or reordered.
  int peer, fd;
  tcp_pair(peer, fd);
  std::string data(64 * 1024, '\0');
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 7 + (i >> 8));
  std::thread writer;
  Runtime rt({.workers = 2});
  rt.block_on([](int fd, int peer, const std::string* data, std::thread* writer) -> Task<void> {
    auto s = TcpStream::adopt(fd);
    auto rx = s->receiver({.buffers = 4, .buffer_size = 16});
    EXPECT_EQ(rx->buffers(), 4u);
    EXPECT_EQ(rx->buffer_size(), 16u);
    *writer = std::thread([peer, data] { send_raw(peer, *data); });
    std::string got;
    std::vector<Chunk> held;
    while (got.size() < data->size()) {
      absl::StatusOr<Chunk> c = co_await rx->next().timeout(5s);
      EXPECT_TRUE(c.ok()) << c.status();
      if (!c.ok() || c->empty()) break;
      got.append(c->view());
      held.push_back(std::move(*c));
      if (held.size() == 3 || got.size() % 5 == 0) {  // hold some for a while
        co_await executor::yield_now();
        held.clear();
      }
    }
    EXPECT_EQ(got.size(), data->size());
    EXPECT_TRUE(got == *data);
  }(fd, peer, &data, &writer));
  writer.join();
  ::close(peer);
}

TEST(Receiver, EveryBufferHeldIsResourceExhaustedUntilOneComesBack) {
  int peer, fd;
  tcp_pair(peer, fd);
  Runtime rt({.workers = 1});
  rt.block_on([](int fd, int peer) -> Task<void> {
    auto s = TcpStream::adopt(fd);
    auto rx = s->receiver({.buffers = 1, .buffer_size = 4});
    send_raw(peer, "abcd");
    absl::StatusOr<Chunk> first = co_await rx->next().timeout(5s);
    EXPECT_TRUE(first.ok() && first->view() == "abcd");
    send_raw(peer, "efgh");
    absl::StatusOr<Chunk> c = co_await rx->next().timeout(5s);
    EXPECT_EQ(c.status().code(), absl::StatusCode::kResourceExhausted) << c.status();
    first->release();
    EXPECT_TRUE(first->empty());
    c = co_await rx->next().timeout(5s);
    EXPECT_TRUE(c.ok()) << c.status();
    if (c.ok()) {
      EXPECT_EQ(c->view(), "efgh");
    }
  }(fd, peer));
  ::close(peer);
}

TEST(Receiver, DestroyedWithChunksHeldAndArmed) {
  int before = open_fds();
  int peer, fd;
  tcp_pair(peer, fd);
  {
    Runtime rt({.workers = 2});
    rt.block_on([](int fd, int peer) -> Task<void> {
      auto s = TcpStream::adopt(fd);
      Chunk kept;
      {
        auto rx = s->receiver({.buffers = 8, .buffer_size = 32});
        send_raw(peer, "kept");
        absl::StatusOr<Chunk> c = co_await rx->next().timeout(5s);
        EXPECT_TRUE(c.ok());
        kept = std::move(*c);
        send_raw(peer, "queued");  // may be queued in the receiver when it goes
        co_await executor::sleep(5ms);
      }                                // destroyed: its receive is cancelled
      EXPECT_EQ(kept.view(), "kept");  // still valid
      kept = Chunk();
      // The stream itself still works.
      Buffer out = Buffer::copy_of("reply");
      EXPECT_TRUE((co_await s->send_all(out)).ok());
      char buf[8];
      EXPECT_EQ(::recv(peer, buf, sizeof buf, 0), 5);
      // Receivers destroyed right after their first next() timed out (armed, never filled).
      for (int i = 0; i < 50; ++i) {
        auto rx3 = s->receiver({.buffers = 2, .buffer_size = 16});
        (void)co_await rx3->next().timeout(0ms);
      }
    }(fd, peer));
  }
  ::close(peer);
  EXPECT_EQ(settle_fds(before), before);
}

TEST(Receiver, DestroyedWhileDataKeepsArrivingRace) {
  // A writer thread streams data while receivers are created, read a little and destroyed, over
  // and over: the cancel races chunks arriving, buffers coming back and re-arms. Nothing may
  // leak or touch freed memory (ASan/TSan), and the stream stays in order within each receiver.
  int before = open_fds();
  int peer, fd;
  tcp_pair(peer, fd);
  std::atomic<bool> stop{false};
  std::thread writer([peer, &stop] {
    std::string block(512, 'd');
    while (!stop.load(std::memory_order_relaxed)) {
      if (::send(peer, block.data(), block.size(), MSG_NOSIGNAL) <= 0) break;
    }
  });
  {
    Runtime rt({.workers = 2});
    rt.block_on([](int fd) -> Task<void> {
      auto s = TcpStream::adopt(fd);
      for (int i = 0; i < 200; ++i) {
        auto rx = s->receiver({.buffers = 2, .buffer_size = 128});
        Chunk held;
        for (int k = 0; k < i % 4; ++k) {
          absl::StatusOr<Chunk> c = co_await rx->next().timeout(5s);
          EXPECT_TRUE(c.ok() && !c->empty()) << c.status();
          if (!c.ok()) co_return;
          EXPECT_EQ(c->view().find_first_not_of('d'), std::string_view::npos);
          if (k == 0) held = std::move(*c);  // outlives the receiver
        }
        if (i % 3 == 0) co_await executor::yield_now();
      }
    }(fd));
  }
  stop = true;
  // Unblock the writer (its socket buffer may be full): drain through a reset.
  ::shutdown(peer, SHUT_RDWR);
  writer.join();
  ::close(peer);
  EXPECT_EQ(settle_fds(before), before);
}

TEST(Receiver, UsedFromAnotherWorkerWhileTheArmingWorkerIsBusy) {
  // Task A arms the receive on its worker's ring, then keeps that worker busy; task B, on the
  // other worker, receives through the same receiver: the receive stays on A's ring (its buffer
  // ring is registered there) and its chunks still reach B (reaped by the completion thread or
  // by B). Then A's worker is free again and B goes on.
  int peer, fd;
  tcp_pair(peer, fd);
  Runtime rt({.workers = 2});
  rt.block_on([](int fd, int peer) -> Task<void> {
    auto s = TcpStream::adopt(fd);
    auto rx = s->receiver({.buffers = 4, .buffer_size = 64});
    std::atomic<bool> armed{false};
    std::atomic<bool> done{false};
    JoinHandle<void> a =
        spawn([](Receiver* rx, std::atomic<bool>* armed, std::atomic<bool>* done) -> Task<void> {
          (void)co_await rx->next().timeout(1ms);  // arms it on this worker's ring
          armed->store(true);
          auto until = std::chrono::steady_clock::now() + 2s;
          while (!done->load() && std::chrono::steady_clock::now() < until) {
          }  // busy: this worker runs nothing else meanwhile
        }(&*rx, &armed, &done));
    while (!armed.load()) co_await executor::sleep(1ms);
    for (int i = 0; i < 20; ++i) {
      std::string m = "msg" + std::to_string(i);
      send_raw(peer, m);
      std::string got = co_await collect(&*rx, m.size());
      EXPECT_EQ(got, m);
    }
    done.store(true);
    co_await std::move(a);
    send_raw(peer, "end");
    EXPECT_EQ(co_await collect(&*rx, 3), "end");
  }(fd, peer));
  ::close(peer);
}

// Whether receives run on worker rings here (the only place they move between workers).
bool worker_rings() {
  const char* r = std::getenv("EXECUTOR_WORKER_RINGS");
  return testing::expected_backend() == "io_uring" && (r == nullptr || std::string(r) != "0");
}

// At least one move with worker rings; none without (epoll, EXECUTOR_WORKER_RINGS=0).
void expect_moved(const Receiver& rx) {
  if (worker_rings()) {
    EXPECT_GE(rx.moves(), 1u);
  } else {
    EXPECT_EQ(rx.moves(), 0u);
  }
}

// Arms `rx` from a task on the other worker, which then has nothing left to run and parks: the
// calling task keeps its own worker meanwhile (it spins, then blocks, without suspending), so
// the arming task can only run on the other one. Eager spreading (the caller's SpreadMode) wakes
// that worker for the spawn.
void arm_on_the_other_worker(Receiver* rx) {
  std::atomic<bool> armed{false};
  std::thread::id armer;
  spawn([](Receiver* rx, std::atomic<bool>* armed, std::thread::id* armer) -> Task<void> {
    (void)co_await rx->next().timeout(1ms);  // arms the receive on this worker's ring
    *armer = std::this_thread::get_id();
    armed->store(true);
  }(rx, &armed, &armer))
      .detach();
  auto until = std::chrono::steady_clock::now() + 10s;
  while (!armed.load() && std::chrono::steady_clock::now() < until) {
  }
  ASSERT_TRUE(armed.load());
  EXPECT_NE(armer, std::this_thread::get_id());
  std::this_thread::sleep_for(50ms);  // the other worker parks: nothing is left for it
}

// Runs body(receiver, peer) as a task on a 2-worker runtime with eager spreading (for
// arm_on_the_other_worker): a receiver of 4 x 64 bytes on one end of a loopback TCP connection,
// the other end's raw fd for the test to write to.
template <class Body>
void on_two_workers_with_receiver(Body body) {
  executor::testing::SpreadMode eager("eager");
  int peer, fd;
  tcp_pair(peer, fd);
  Runtime rt({.workers = 2});
  rt.block_on([](int fd, int peer, Body body) -> Task<void> {
    auto s = TcpStream::adopt(fd);
    auto rx = s->receiver({.buffers = 4, .buffer_size = 64});
    co_await body(&*rx, peer);
  }(fd, peer, body));
  ::close(peer);
}

TEST(Receiver, MovesToTheWorkerWhereItsTaskWaits) {
  // The receive is armed on one worker's ring, that worker parks, and the task that waits in
  // next() runs on the other worker: the receive is stopped there and armed again where the task
  // runs (moves() counts it; on the epoll backend and without worker rings nothing moves). The
  // data sent before, during and after the move arrives whole and in order.
  on_two_workers_with_receiver([](Receiver* rx, int peer) -> Task<void> {
    arm_on_the_other_worker(rx);
    EXPECT_EQ(rx->moves(), 0u);
    // The peer writes once this task waits (the move happens as it starts waiting).
    std::thread writer([peer] {
      std::this_thread::sleep_for(30ms);
      send_raw(peer, "first");
    });
    std::string got = co_await collect(rx, 5);
    writer.join();
    EXPECT_EQ(got, "first");
    expect_moved(*rx);
    for (int i = 0; i < 50; ++i) {
      std::string m = "msg" + std::to_string(i);
      send_raw(peer, m);
      EXPECT_EQ(co_await collect(rx, m.size()), m);
    }
  });
}

TEST(Receiver, StaysArmedAfterAMoveThatNobodyWaitsFor) {
  // A next() starts a move, and data arrives at once: it may be received by the old receive
  // before the stop takes effect, so that the task returns with it and nobody waits when the
  // stop's final result comes (a race this test does not force). The receive is armed again anyway
  // (on a worker), so data that arrives while no task waits is queued and a next() with a zero
  // timeout finds it -- as without moves (TimeoutAndTokenLoseNothing).
  on_two_workers_with_receiver([](Receiver* rx, int peer) -> Task<void> {
    for (int round = 0; round < 10; ++round) {
      arm_on_the_other_worker(rx);
      std::string m = "a" + std::to_string(round);
      std::atomic<bool> go{false};
      std::thread writer([&go, peer, m] {
        while (!go.load()) {
        }
        send_raw(peer, m);
      });
      go.store(true);
      absl::StatusOr<Chunk> c = co_await rx->next().timeout(5s);
      writer.join();
      EXPECT_TRUE(c.ok()) << c.status();
      if (c.ok()) {
        EXPECT_EQ(c->view(), m);
      }
      c = absl::UnknownError("");  // the chunk's buffer goes back
      m = "b" + std::to_string(round);
      send_raw(peer, m);
      co_await executor::sleep(20ms);  // nobody waits meanwhile
      c = co_await rx->next().timeout(0ms);
      EXPECT_TRUE(c.ok()) << "round " << round << ": " << c.status();
      if (c.ok()) {
        EXPECT_EQ(c->view(), m);
      }
    }
    // The first round moves it; later rounds find it armed already, wherever the move's re-arm
    // put it, and move it again only if that was not this task's worker.
    expect_moved(*rx);
  });
}

TEST(Receiver, DestroyedWhileMoving) {
  // A next() starts a move and times out at once, and the receiver is destroyed while the old
  // receive's final result (and the re-arm it asks for) may still be on its way: nothing leaks
  // (ASan), nothing crashes, no descriptor stays open.
  executor::testing::SpreadMode eager("eager");
  int before = open_fds();
  int peer, fd;
  tcp_pair(peer, fd);
  {
    Runtime rt({.workers = 2});
    rt.block_on([](int fd) -> Task<void> {
      auto s = TcpStream::adopt(fd);
      for (int round = 0; round < 20; ++round) {
        auto rx = s->receiver({.buffers = 2, .buffer_size = 64});
        arm_on_the_other_worker(&*rx);
        absl::StatusOr<Chunk> c = co_await rx->next().timeout(std::chrono::microseconds(200));
        EXPECT_FALSE(c.ok());
        EXPECT_EQ(c.status().code(), absl::StatusCode::kDeadlineExceeded) << c.status();
        EXPECT_EQ(rx->moves(), worker_rings() ? 1u : 0u);
      }  // each receiver destroyed right after its move began
    }(fd));
  }
  ::close(peer);
  EXPECT_EQ(settle_fds(before), before);
}

TEST(Receiver, StreamStaysInOrderWhileItsTaskHopsBetweenWorkers) {
  // A byte stream is read by a chain of short tasks, each taking a few chunks and then handing
  // the receiver to the next (spawned, so it may start on either worker, while the worker that
  // armed the receive may have parked): the receive moves back and forth between the workers'
  // rings (moves() is recorded; the move path is what this stresses under TSan) and every byte
  // arrives once, in order.
  executor::testing::SpreadMode eager("eager");
  constexpr std::size_t kBytes = 200'000;
  int peer, fd;
  tcp_pair(peer, fd);
  std::thread writer([peer] {
    std::string piece;
    std::size_t sent = 0;
    unsigned seed = 7;
    while (sent < kBytes) {
      seed = seed * 1103515245 + 12345;
      std::size_t n = std::min<std::size_t>(1 + (seed >> 8) % 700, kBytes - sent);
      piece.clear();
      for (std::size_t i = 0; i < n; ++i) piece.push_back(static_cast<char>((sent + i) % 251));
      send_raw(peer, piece);
      sent += n;
      if ((seed >> 4) % 4 == 0) std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
  });
  std::uint64_t moves = 0;
  std::size_t got = 0;
  {
    Runtime rt({.workers = 2});
    rt.block_on([](int fd, std::size_t* got, std::uint64_t* moves) -> Task<void> {
      auto s = TcpStream::adopt(fd);
      auto rx = s->receiver({.buffers = 4, .buffer_size = 512});
      bool ok = true;
      while (*got < kBytes && ok) {
        co_await spawn([](Receiver* rx, std::size_t* got, bool* ok) -> Task<void> {
          for (int i = 0; i < 3 && *got < kBytes; ++i) {
            absl::StatusOr<Chunk> c = co_await rx->next().timeout(5s);
            if (!c.ok() || c->empty()) {
              ADD_FAILURE() << "at byte " << *got << ": "
                            << (c.ok() ? std::string("end of stream") : c.status().ToString());
              *ok = false;
              co_return;
            }
            for (char ch : c->view()) {
              if (ch != static_cast<char>(*got % 251)) {
                ADD_FAILURE() << "byte " << *got << " out of order";
                *ok = false;
                co_return;
              }
              ++*got;
            }
          }
        }(&*rx, got, &ok));
      }
      *moves = rx->moves();
    }(fd, &got, &moves));
  }
  writer.join();
  ::close(peer);
  EXPECT_EQ(got, kBytes);
  RecordProperty("moves", static_cast<int>(moves));
  std::printf("receiver moves: %llu\n", static_cast<unsigned long long>(moves));
}

TEST(Receiver, RuntimeTeardownWithReceiversWaiting) {
  int before = open_fds();
  std::vector<int> peers;
  {
    Runtime rt({.workers = 2});
    for (int i = 0; i < 20; ++i) {
      int peer, fd;
      tcp_pair(peer, fd);
      peers.push_back(peer);
      spawn([](int fd) -> Task<void> {
        auto s = TcpStream::adopt(fd);
        auto rx = s->receiver({.buffers = 2, .buffer_size = 64});
        for (;;) {
          absl::StatusOr<Chunk> c = co_await rx->next();
          if (!c.ok() || c->empty()) co_return;
        }
      }(fd))
          .detach();
    }
    rt.block_on([]() -> Task<void> {
      co_await executor::sleep(20ms);
    }());
    send_raw(peers[0], "some data for one of them");
  }  // torn down with every receive armed
  for (int p : peers) ::close(p);
  EXPECT_EQ(settle_fds(before), before);
}

TEST(Receiver, BadInputGetsAClearError) {
  Runtime rt({.workers = 1});
  rt.block_on([]() -> Task<void> {
    TcpStream closed;
    auto r = closed.receiver();
    EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition) << r.status();
    int peer, fd;
    tcp_pair(peer, fd);
    auto s = TcpStream::adopt(fd);
    EXPECT_EQ(s->receiver({.buffers = 0}).status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(s->receiver({.buffers = 40000}).status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(s->receiver({.buffer_size = 0}).status().code(), absl::StatusCode::kInvalidArgument);
    auto odd = s->receiver({.buffers = 3, .buffer_size = 10});
    EXPECT_TRUE(odd.ok());
    EXPECT_EQ(odd->buffers(), 4u);  // rounded up
    Receiver none;
    absl::StatusOr<Chunk> c = co_await none.next();
    EXPECT_EQ(c.status().code(), absl::StatusCode::kFailedPrecondition);
    Receiver moved = std::move(*odd);
    c = co_await odd->next();
    EXPECT_EQ(c.status().code(), absl::StatusCode::kFailedPrecondition);

    // Two tasks waiting on one receiver: the second is refused.
    JoinHandle<absl::StatusOr<Chunk>> first = spawn(next_of, &moved);
    co_await executor::sleep(10ms);
    c = co_await moved.next();
    EXPECT_EQ(c.status().code(), absl::StatusCode::kFailedPrecondition) << c.status();
    send_raw(peer, "z");
    c = co_await std::move(first);
    EXPECT_TRUE(c.ok() && c->view() == "z");

    // A socket closed under the receiver (shutdown of our read side): end of stream.
    EXPECT_TRUE(s->shutdown(Shutdown::kRead).ok());
    c = co_await moved.next().timeout(5s);
    EXPECT_TRUE(c.ok() && c->empty()) << c.status();
    ::close(peer);
  }());
}

// A pipe never becomes a TcpStream (so never a Receiver): adopt refuses it.
TEST(Receiver, NotASocketIsAnError) {
  int p[2];
  ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
  auto s = TcpStream::adopt(p[0]);
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(io::error_info(s.status())->error_number, ENOTSOCK) << s.status();
  ::close(p[0]);
  ::close(p[1]);
}

// --- stress: 10,000 messages echoed by receivers, tasks free to migrate between workers ----

Task<void> receiver_echo(TcpStream s) {
  EXPECT_TRUE(s.set_nodelay(true).ok());
  auto rx = s.receiver({.buffers = 8, .buffer_size = 256});
  EXPECT_TRUE(rx.ok());
  Buffer out(256);
  for (;;) {
    absl::StatusOr<Chunk> c = co_await rx->next();
    if (!c.ok() || c->empty()) co_return;
    out.clear();
    out.append(c->view());
    c->release();
    if (!(co_await s.send_all(out)).ok()) co_return;
    if (out.size() % 3 == 0) co_await executor::yield_now();  // invite migration
  }
}

Task<int> stress_client(SocketAddress addr, int id, int messages) {
  absl::StatusOr<TcpStream> s = co_await TcpStream::connect(addr).timeout(10s);
  EXPECT_TRUE(s.ok()) << s.status();
  if (!s.ok()) co_return 0;
  EXPECT_TRUE(s->set_nodelay(true).ok());
  int ok = 0;
  for (int m = 0; m < messages; ++m) {
    std::string text = std::to_string(id) + ":" + std::to_string(m) + ":" +
                       std::string(static_cast<std::size_t>((id * 31 + m * 17) % 600), 'x');
    Buffer out = Buffer::copy_of(text);
    EXPECT_TRUE((co_await s->send_all(out)).ok());
    Buffer in(text.size());
    absl::Status r = co_await s->recv_exact(in);
    EXPECT_TRUE(r.ok()) << r;
    if (in.view() == text) ++ok;
  }
  co_return ok;
}

TEST(Receiver, EchoStressTenThousandMessages) {
  int before = open_fds();
  {
    Runtime rt({.workers = 2});
    rt.block_on([]() -> Task<void> {
      constexpr int kConns = 8;
      constexpr int kMessages = 1250;  // 10,000 in all
      auto l = TcpListener::bind(SocketAddress::ipv4_loopback(0));
      EXPECT_TRUE(l.ok());
      JoinHandle<void> server = spawn([](TcpListener* l) -> Task<void> {
        std::vector<JoinHandle<void>> hs;
        for (int i = 0; i < kConns; ++i) {
          auto s = co_await l->accept();
          EXPECT_TRUE(s.ok());
          if (!s.ok()) break;
          hs.push_back(spawn(receiver_echo, std::move(*s)));
        }
        for (auto& h : hs) co_await std::move(h);
      }(&*l));
      std::vector<JoinHandle<int>> clients;
      for (int i = 0; i < kConns; ++i) {
        clients.push_back(spawn(stress_client, l->local_address(), i, kMessages));
      }
      int ok = 0;
      for (auto& c : clients) ok += co_await std::move(c);
      co_await std::move(server);
      EXPECT_EQ(ok, kConns * kMessages);
    }());
  }
  EXPECT_EQ(settle_fds(before), before);
}

}  // namespace
}  // namespace executor::io
