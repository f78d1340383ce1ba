// executor::io::Acceptor (multishot accept with a bounded queue), on every backend: an accept()
// destroyed while suspended loses nothing, timeouts and tokens, a burst larger than the queue,
// destruction with connections queued (closed, never leaked), runtime teardown, bad input, and
// a stress of concurrent connects. Also the waiting itself (detail::MultishotNext, shared with
// Receiver): an accept() destroyed with its timer and token armed, and deadlines and cancels
// racing arriving connections.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
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

// A blocking client connection to `port` (the kernel completes it from the listen backlog).
int connect_raw(std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  EXPECT_GE(fd, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  return fd;
}

Task<absl::StatusOr<TcpStream>> accept_of(Acceptor* acc) {
  co_return co_await acc->accept();
}

Task<absl::StatusOr<TcpStream>> accept_bounded(Acceptor* acc, CancellationToken token) {
  co_return co_await acc->accept().timeout(10ms).cancel_on(token);
}

TEST(Acceptor, AcceptDestroyedWhileSuspendedLosesNothing) {
  int before = open_fds();
  {
    Runtime rt({.workers = 2});
    rt.block_on([]() -> Task<void> {
      auto l = TcpListener::bind(SocketAddress::ipv4_loopback(0));
      EXPECT_TRUE(l.ok());
      std::uint16_t port = l->local_address().port();
      auto acc = l->acceptor();
      EXPECT_TRUE(acc.ok()) << acc.status();
      auto r = co_await executor::timeout(20ms, accept_of(&*acc));
      EXPECT_EQ(r.status().code(), absl::StatusCode::kDeadlineExceeded);
      for (int i = 0; i < 14; ++i) {
        if (i < 8) {
          co_await destroy_waiter(accept_of, &*acc, i);
        } else {
          // With its timer and token hook armed: they are withdrawn with the frame.
          co_await destroy_bounded_waiter(accept_bounded, &*acc, i % 2 == 0);
        }
        int client = connect_raw(port);
        absl::StatusOr<TcpStream> s = co_await acc->accept().timeout(5s);
        EXPECT_TRUE(s.ok()) << s.status();
        // It is this client's connection.
        if (s.ok()) {
          Buffer b = Buffer::copy_of("hi");
          EXPECT_TRUE((co_await s->send_all(b)).ok());
          char c[2];
          EXPECT_EQ(::recv(client, c, 2, MSG_WAITALL), 2);
        }
        ::close(client);
      }
    }());
  }
  EXPECT_EQ(settle_fds(before), before);
}

TEST(Acceptor, TimeoutAndToken) {
  Runtime rt({.workers = 2});
  rt.block_on([]() -> Task<void> {
    auto l = TcpListener::bind(SocketAddress::ipv4_loopback(0));
    auto acc = l->acceptor();
    auto t0 = std::chrono::steady_clock::now();
    absl::StatusOr<TcpStream> s = co_await acc->accept().timeout(30ms);
    EXPECT_EQ(s.status().code(), absl::StatusCode::kDeadlineExceeded) << s.status();
    EXPECT_GE(std::chrono::steady_clock::now() - t0, 30ms);
    CancellationToken token;
    JoinHandle<void> canceller = spawn(cancel_after, token, 10ms);
    s = co_await acc->accept().cancel_on(token);
    EXPECT_EQ(s.status().code(), absl::StatusCode::kCancelled) << s.status();
    co_await std::move(canceller);
    int client = connect_raw(l->local_address().port());
    s = co_await acc->accept().timeout(5s);
    EXPECT_TRUE(s.ok()) << s.status();
    ::close(client);
  }());
}

constexpr int kRaceClients = 150;

TEST(Acceptor, DeadlinesAndCancelsRacingConnectionsLoseNothing) {
  // Clients connect every half millisecond while accept() waits with a deadline (or a token
  // cancelled) about as far away: each call yields a connection, kDeadlineExceeded or
  // kCancelled, and every connection is accepted exactly once.
  int before = open_fds();
  {
    Runtime rt({.workers = 2});
    rt.block_on([]() -> Task<void> {
      auto l = TcpListener::bind(SocketAddress::ipv4_loopback(0));
      auto acc = l->acceptor();
      std::vector<int> clients;
      // Halfway the connector waits until a bound has been hit: a loaded machine may run the
      // acceptor so late that a connection is always queued, and the bounds must be raced.
      std::atomic<int> bounds_seen{0};
      std::thread connector([port = l->local_address().port(), &clients, &bounds_seen] {
        for (int i = 0; i < kRaceClients; ++i) {
          if (i == kRaceClients / 2) wait_until_positive(bounds_seen);
          clients.push_back(connect_raw(port));
          std::this_thread::sleep_for(500us);
        }
      });
      int accepted = 0;
      int bounded = 0;
      for (int call = 0; accepted < kRaceClients && call < 3000; ++call) {
        absl::StatusOr<TcpStream> s = co_await race_next(&*acc, call, 500us, &bounded);
        bounds_seen.store(bounded, std::memory_order_relaxed);
        if (s.ok()) ++accepted;
      }
      connector.join();
      EXPECT_EQ(accepted, kRaceClients);
      EXPECT_EQ(acc->queued(), 0u);  // none accepted twice, none left behind
      EXPECT_GT(bounded, 0);         // the bounds were hit at all
      for (int c : clients) ::close(c);
    }());
  }
  EXPECT_EQ(settle_fds(before), before);
}

TEST(Acceptor, BurstLargerThanTheQueueLosesNothing) {
  int before = open_fds();
  {
    Runtime rt({.workers = 2});
    rt.block_on([]() -> Task<void> {
      auto l = TcpListener::bind(SocketAddress::ipv4_loopback(0));
      std::uint16_t port = l->local_address().port();
      auto acc = l->acceptor({.queue = 4});
      std::vector<int> clients;
      clients.push_back(connect_raw(port));
      absl::StatusOr<TcpStream> first = co_await acc->accept().timeout(5s);  // arms it
      EXPECT_TRUE(first.ok());
      for (int i = 0; i < 60; ++i) clients.push_back(connect_raw(port));
      co_await executor::sleep(20ms);
      int got = 1;
      std::vector<TcpStream> conns;
      while (got < 61) {
        absl::StatusOr<TcpStream> s = co_await acc->accept().timeout(5s);
        EXPECT_TRUE(s.ok()) << s.status();
        if (!s.ok()) break;
        conns.push_back(std::move(*s));
        ++got;
      }
      EXPECT_EQ(got, 61);
      EXPECT_EQ(acc->queued(), 0u);
      for (int c : clients) ::close(c);
    }());
  }
  EXPECT_EQ(settle_fds(before), before);
}

TEST(Acceptor, DestroyedWithConnectionsQueuedClosesThem) {
  int before = open_fds();
  {
    Runtime rt({.workers = 2});
    rt.block_on([]() -> Task<void> {
      auto l = TcpListener::bind(SocketAddress::ipv4_loopback(0));
      std::uint16_t port = l->local_address().port();
      std::vector<int> clients;
      {
        auto acc = l->acceptor({.queue = 16});
        clients.push_back(connect_raw(port));
        absl::StatusOr<TcpStream> first = co_await acc->accept().timeout(5s);
        EXPECT_TRUE(first.ok());
        for (int i = 0; i < 5; ++i) clients.push_back(connect_raw(port));
        for (int i = 0; i < 5000 && acc->queued() < 5; ++i) co_await executor::sleep(1ms);
        EXPECT_EQ(acc->queued(), 5u);
      }  // destroyed: the queued connections are closed
      // (Blocking calls in a task stall its worker: let it hand the cancel over first.)
      co_await executor::sleep(5ms);
      for (std::size_t i = 1; i < clients.size(); ++i) {
        timeval tv{5, 0};
        ::setsockopt(clients[i], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        char c;
        EXPECT_EQ(::recv(clients[i], &c, 1, 0), 0);  // the server side closed
      }
      for (int c : clients) ::close(c);
      // The listener still works, with a new acceptor or with accept().
      int again = connect_raw(port);
      auto s = co_await l->accept().timeout(5s);
      EXPECT_TRUE(s.ok()) << s.status();
      ::close(again);
    }());
  }
  EXPECT_EQ(settle_fds(before), before);
}

TEST(Acceptor, DestroyedWhileConnectionsKeepArrivingRace) {
  // A client thread connects continuously while acceptors are created, take a few connections
  // and are destroyed: the cancel races connections being queued. Every connection the server
  // side accepted must be closed (the fd count settles back), none may leak.
  int before = open_fds();
  {
    Runtime rt({.workers = 2});
    auto l = rt.block_on([]() -> Task<absl::StatusOr<TcpListener>> {
      co_return TcpListener::bind(SocketAddress::ipv4_loopback(0));
    }());
    ASSERT_TRUE(l.ok());
    std::uint16_t port = l->local_address().port();
    std::atomic<bool> stop{false};
    std::thread client([port, &stop] {
      linger lg{1, 0};
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_port = htons(port);
      a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      while (!stop.load(std::memory_order_relaxed)) {
        int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) break;
        // Fails (refused) once the listener is closed at the end.
        if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
          ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        }
        ::close(fd);
      }
    });
    rt.block_on([](TcpListener* l) -> Task<void> {
      for (int i = 0; i < 100; ++i) {
        auto acc = l->acceptor({.queue = 4});
        for (int k = 0; k < i % 3; ++k) {
          absl::StatusOr<TcpStream> s = co_await acc->accept().timeout(5s);
          EXPECT_TRUE(s.ok()) << s.status();
        }
        if (i % 2 == 0) co_await executor::yield_now();
      }
    }(&*l));
    stop = true;
    *l = TcpListener();  // a client blocked on a full backlog is refused now
    client.join();
  }
  EXPECT_EQ(settle_fds(before), before);
}

TEST(Acceptor, RuntimeTeardownWithAcceptorsWaiting) {
  int before = open_fds();
  {
    Runtime rt({.workers = 2});
    for (int i = 0; i < 4; ++i) {
      spawn([]() -> Task<void> {
        auto l = TcpListener::bind(SocketAddress::ipv4_loopback(0));
        auto acc = l->acceptor();
        for (;;) {
          absl::StatusOr<TcpStream> s = co_await acc->accept();
          if (!s.ok()) co_return;
        }
      }())
          .detach();
    }
    rt.block_on([]() -> Task<void> {
      co_await executor::sleep(20ms);
    }());
  }  // torn down with every accept armed
  EXPECT_EQ(settle_fds(before), before);
}

TEST(Acceptor, BadInputGetsAClearError) {
  Runtime rt({.workers = 1});
  rt.block_on([]() -> Task<void> {
    TcpListener closed;
    EXPECT_EQ(closed.acceptor().status().code(), absl::StatusCode::kFailedPrecondition);
    auto l = TcpListener::bind(SocketAddress::ipv4_loopback(0));
    EXPECT_EQ(l->acceptor({.queue = 0}).status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(l->acceptor({.queue = 100000}).status().code(), absl::StatusCode::kInvalidArgument);
    Acceptor none;
    absl::StatusOr<TcpStream> s = co_await none.accept();
    EXPECT_EQ(s.status().code(), absl::StatusCode::kFailedPrecondition);
    auto acc = l->acceptor();
    Acceptor moved = std::move(*acc);
    s = co_await acc->accept();
    EXPECT_EQ(s.status().code(), absl::StatusCode::kFailedPrecondition);
    JoinHandle<absl::StatusOr<TcpStream>> first = spawn(accept_of, &moved);
    co_await executor::sleep(10ms);
    s = co_await moved.accept();
    EXPECT_EQ(s.status().code(), absl::StatusCode::kFailedPrecondition) << s.status();
    int client = connect_raw(l->local_address().port());
    s = co_await std::move(first);
    EXPECT_TRUE(s.ok()) << s.status();
    ::close(client);

    // Not a listening socket: the error is reported (and again on the next call).
    auto l2 = TcpListener::bind(SocketAddress::ipv4_loopback(0));
    auto acc2 = l2->acceptor();
    EXPECT_EQ(::shutdown(l2->fd(), SHUT_RDWR), 0);  // the listener stops listening
    s = co_await acc2->accept().timeout(5s);
    EXPECT_FALSE(s.ok());
    EXPECT_NE(s.status().code(), absl::StatusCode::kDeadlineExceeded) << s.status();
  }());
}

TEST(Acceptor, StressConcurrentConnects) {
  int before = open_fds();
  {
    Runtime rt({.workers = 2});
    rt.block_on([]() -> Task<void> {
      constexpr int kClients = 400;
      auto l = TcpListener::bind(SocketAddress::ipv4_loopback(0));
      auto acc = l->acceptor({.queue = 8});
      SocketAddress addr = l->local_address();
      std::vector<JoinHandle<bool>> clients;
      for (int i = 0; i < kClients; ++i) {
        clients.push_back(spawn([](SocketAddress a, int i) -> Task<bool> {
          auto s = co_await TcpStream::connect(a).timeout(10s);
          if (!s.ok()) co_return false;
          Buffer b = Buffer::copy_of(std::to_string(i % 10));
          bool ok = (co_await s->send_all(b)).ok();
          Buffer in(1);
          ok = ok && (co_await s->recv_exact(in)).ok();
          co_return ok&& in.view() == b.view();
        }(addr, i)));
        if (i % 50 == 0) co_await executor::yield_now();
      }
      std::vector<JoinHandle<void>> servers;
      for (int i = 0; i < kClients; ++i) {
        absl::StatusOr<TcpStream> s = co_await acc->accept().timeout(10s);
        EXPECT_TRUE(s.ok()) << s.status();
        if (!s.ok()) break;
        servers.push_back(spawn([](TcpStream s) -> Task<void> {
          Buffer b(1);
          if ((co_await s.recv_exact(b)).ok()) (void)co_await s.send_all(b);
        }(std::move(*s))));
      }
      int ok = 0;
      for (auto& c : clients) ok += (co_await std::move(c)) ? 1 : 0;
      for (auto& s : servers) co_await std::move(s);
      EXPECT_EQ(ok, kClients);
    }());
  }
  EXPECT_EQ(settle_fds(before), before);
}

}  // namespace
}  // namespace executor::io
