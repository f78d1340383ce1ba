// executor::io::UdpSocket: send_to/recv_from round trips, truncation, connect, timeouts,
// IPv6, bad input.
#include <sys/socket.h>

#include <chrono>
#include <string>

#include <gtest/gtest.h>

#include <executor/io/io.hpp>
#include <executor/runtime.hpp>

#include "io_test_util.hpp"

namespace executor::io {
namespace {

using namespace std::chrono_literals;
using testing::open_fds;

Task<void> round_trip(SocketAddress where) {
  absl::StatusOr<UdpSocket> a = UdpSocket::bind(where);
  absl::StatusOr<UdpSocket> b = UdpSocket::bind(where);
  EXPECT_TRUE(a.ok() && b.ok()) << a.status() << b.status();
  SocketAddress a_addr = *a->local_address();
  SocketAddress b_addr = *b->local_address();
  EXPECT_NE(a_addr.port(), 0);
  for (int i = 0; i < 50; ++i) {
    std::string text = "datagram " + std::to_string(i);
    Buffer out = Buffer::copy_of(text);
    absl::StatusOr<std::size_t> sent = co_await a->send_to(out, b_addr);
    EXPECT_TRUE(sent.ok()) << sent.status();
    EXPECT_EQ(*sent, text.size());
    EXPECT_EQ(out.view(), text);
    Buffer in(1500);
    absl::StatusOr<Datagram> d = co_await b->recv_from(in).timeout(5s);
    EXPECT_TRUE(d.ok()) << d.status();
    EXPECT_EQ(d->size, text.size());
    EXPECT_FALSE(d->truncated);
    EXPECT_EQ(d->from, a_addr);
    EXPECT_EQ(in.view(), text);
  }
  // An empty datagram is a datagram.
  Buffer empty(0);
  EXPECT_EQ(*(co_await a->send_to(empty, b_addr)), 0u);
  Buffer in(10);
  absl::StatusOr<Datagram> d = co_await b->recv_from(in).timeout(5s);
  EXPECT_TRUE(d.ok());
  EXPECT_EQ(d->size, 0u);
  // Truncation: the rest of a long datagram is dropped and reported.
  Buffer big = Buffer::copy_of(std::string(100, 'z'));
  EXPECT_TRUE((co_await a->send_to(big, b_addr)).ok());
  Buffer small(10);
  absl::StatusOr<Datagram> t = co_await b->recv_from(small).timeout(5s);
  EXPECT_TRUE(t.ok());
  EXPECT_TRUE(t->truncated);
  EXPECT_EQ(small.view(), std::string(10, 'z'));
}

TEST(Udp, SendToRecvFrom) {
  int before = open_fds();
  {
    Runtime rt({.workers = 2});
    rt.block_on(round_trip(SocketAddress::ipv4_loopback(0)));
  }
  EXPECT_EQ(open_fds(), before);
}

TEST(Udp, Ipv6) {
  int probe = ::socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (probe < 0) GTEST_SKIP() << "no IPv6 on this machine";
  ::close(probe);
  Runtime rt({.workers = 2});
  rt.block_on(round_trip(SocketAddress::ipv6_loopback(0)));
}

Task<void> connected() {
  absl::StatusOr<UdpSocket> a = UdpSocket::bind(SocketAddress::ipv4_loopback(0));
  absl::StatusOr<UdpSocket> b = UdpSocket::bind(SocketAddress::ipv4_loopback(0));
  EXPECT_TRUE(a->connect(*b->local_address()).ok());
  EXPECT_TRUE(b->connect(*a->local_address()).ok());
  Buffer out = Buffer::copy_of("hello");
  EXPECT_EQ(*(co_await a->send(out)), 5u);
  Buffer in(64);
  absl::StatusOr<std::size_t> n = co_await b->recv(in).timeout(5s);
  EXPECT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(in.view(), "hello");
  // Nothing more arrives: the timeout fires and the buffer is unchanged.
  absl::StatusOr<std::size_t> none = co_await b->recv(in).timeout(20ms);
  EXPECT_EQ(none.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(in.view(), "hello");
  absl::StatusOr<Datagram> none2 = co_await b->recv_from(in).timeout(20ms);
  EXPECT_EQ(none2.status().code(), absl::StatusCode::kDeadlineExceeded);
}

TEST(Udp, ConnectSendRecvAndTimeouts) {
  Runtime rt({.workers = 2});
  rt.block_on(connected());
}

Task<void> bad_input() {
  UdpSocket none;
  Buffer b(8);
  EXPECT_EQ(error_info((co_await none.recv_from(b)).status())->error_number, EBADF);
  EXPECT_EQ(error_info((co_await none.send_to(b, SocketAddress::ipv4_loopback(9))).status())
                ->error_number,
            EBADF);
  EXPECT_EQ(error_info(none.connect(SocketAddress::ipv4_loopback(9)))->error_number, EBADF);
  absl::StatusOr<UdpSocket> u = UdpSocket::bind(SocketAddress::ipv4_loopback(0));
  Buffer full = Buffer::copy_of("full");
  EXPECT_EQ((co_await u->recv_from(full)).status().code(), absl::StatusCode::kInvalidArgument);
  // An IPv6 destination from an IPv4 socket: the kernel's error, clearly reported.
  Buffer out = Buffer::copy_of("x");
  absl::StatusOr<std::size_t> r = co_await u->send_to(out, SocketAddress::ipv6_loopback(9));
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(error_info(r.status()).has_value()) << r.status();
  // Binding an address in use.
  absl::StatusOr<UdpSocket> again = UdpSocket::bind(*u->local_address());
  EXPECT_EQ(error_info(again.status())->error_number, EADDRINUSE);
  EXPECT_EQ(again.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_TRUE((co_await u->close()).ok());
}

TEST(Udp, BadInputGetsAClearError) {
  int before = open_fds();
  {
    Runtime rt({.workers = 2});
    rt.block_on(bad_input());
  }
  EXPECT_EQ(open_fds(), before);
}

}  // namespace
}  // namespace executor::io
