// executor::io TCP: echo with many connections, large transfers with short reads/writes, a
// peer closing mid-transfer, connect errors, timeouts that fire and that don't, accept
// cancellation races, IPv6, addresses, bad input.
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <executor/io/io.hpp>
#include <executor/join_handle.hpp>
#include <executor/runtime.hpp>
#include <executor/spawn.hpp>
#include <executor/timeout.hpp>

#include "io_test_util.hpp"

namespace executor::io {
namespace {

using namespace std::chrono_literals;
using testing::open_fds;
using testing::settle_fds;

Task<void> echo_conn(TcpStream s) {
  Buffer buf(4096);
  for (;;) {
    buf.clear();
    absl::StatusOr<std::size_t> n = co_await s.recv(buf);
    if (!n.ok() || *n == 0) co_return;
    if (!(co_await s.send_all(buf)).ok()) co_return;
  }
}

Task<void> echo_server(TcpListener* l, int conns) {
  std::vector<JoinHandle<void>> hs;
  for (int i = 0; i < conns; ++i) {
    absl::StatusOr<TcpStream> s = co_await l->accept();
    EXPECT_TRUE(s.ok()) << s.status();
    if (!s.ok()) break;
    hs.push_back(spawn(echo_conn, std::move(*s)));
  }
  for (auto& h : hs) co_await std::move(h);
}

Task<int> echo_client(SocketAddress addr, int id, int messages) {
  absl::StatusOr<TcpStream> s = co_await TcpStream::connect(addr).timeout(10s);
  EXPECT_TRUE(s.ok()) << s.status();
  if (!s.ok()) co_return 0;
  EXPECT_TRUE(s->set_nodelay(true).ok());
  int ok = 0;
  for (int m = 0; m < messages; ++m) {
    std::string text = "client " + std::to_string(id) + " message " + std::to_string(m) + " " +
                       std::string(static_cast<std::size_t>((id * 31 + m * 17) % 2000), 'x');
    Buffer out = Buffer::copy_of(text);
    EXPECT_TRUE((co_await s->send_all(out)).ok());
    Buffer in(text.size());
    absl::Status r = co_await s->recv_exact(in);
    EXPECT_TRUE(r.ok()) << r;
    if (in.view() == text) ++ok;
  }
  co_return ok;
}

Task<void> echo_many(int conns, int messages) {
  absl::StatusOr<TcpListener> l = TcpListener::bind(SocketAddress::ipv4_loopback(0));
  EXPECT_TRUE(l.ok()) << l.status();
  EXPECT_NE(l->local_address().port(), 0);
  JoinHandle<void> server = spawn(echo_server, &*l, conns);
  std::vector<JoinHandle<int>> clients;
  for (int i = 0; i < conns; ++i) {
    clients.push_back(spawn(echo_client, l->local_address(), i, messages));
  }
  int ok = 0;
  for (auto& c : clients) ok += co_await std::move(c);
  co_await std::move(server);
  EXPECT_EQ(ok, conns * messages);
}

TEST(Tcp, EchoWithManyConnectionsAtOnce) {
  int before = open_fds();
  {
    Runtime rt({.workers = 2});
    rt.block_on(echo_many(100, 20));
  }
  EXPECT_EQ(settle_fds(before), before);
}

std::string big_pattern(std::size_t n) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 131 + (i >> 10)) & 0xff);
  return s;
}

Task<void> sink(TcpStream s, std::size_t expect) {
  std::string got;
  Buffer buf(1000);  // small receives: many short reads
  while (got.size() < expect) {
    buf.clear();
    absl::StatusOr<std::size_t> n = co_await s.recv(buf);
    EXPECT_TRUE(n.ok()) << n.status();
    if (!n.ok() || *n == 0) break;
    got.append(buf.view());
  }
  EXPECT_EQ(got.size(), expect);
  EXPECT_TRUE(got == big_pattern(expect));
  Buffer ack = Buffer::copy_of("k");
  EXPECT_TRUE((co_await s.send_all(ack)).ok());
}

Task<void> large_transfer(std::size_t size) {
  absl::StatusOr<TcpListener> l = TcpListener::bind(SocketAddress::ipv4_loopback(0));
  absl::StatusOr<TcpStream> c = co_await TcpStream::connect(l->local_address());
  EXPECT_TRUE(c.ok()) << c.status();
  absl::StatusOr<TcpStream> s = co_await l->accept();
  EXPECT_TRUE(s.ok()) << s.status();
  // Modest kernel buffers: one send cannot take it all. (Much smaller ones make loopback TCP
  // crawl through zero-window probes: its MSS is 64 KiB.)
  int small = 64 * 1024;
  ::setsockopt(c->fd(), SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
  ::setsockopt(s->fd(), SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  JoinHandle<void> receiver = spawn(sink, std::move(*s), size);
  Buffer data = Buffer::copy_of(big_pattern(size));
  // One send is usually short here; send_all loops.
  absl::StatusOr<std::size_t> first = co_await c->send(data);
  EXPECT_TRUE(first.ok());
  EXPECT_LT(*first, size);
  Buffer rest = Buffer::copy_of(big_pattern(size).substr(*first));
  EXPECT_TRUE((co_await c->send_all(rest)).ok());
  Buffer ack(1);
  EXPECT_TRUE((co_await c->recv_exact(ack)).ok());
  co_await std::move(receiver);
}

TEST(Tcp, LargeTransferWithShortReadsAndWrites) {
  Runtime rt({.workers = 2});
  rt.block_on(large_transfer(8 << 20));
}

Task<void> close_after(TcpStream s, std::size_t n) {
  Buffer buf(n);
  (void)co_await s.recv_exact(buf);
  EXPECT_TRUE((co_await s.close()).ok());
}

Task<void> peer_closes_mid_transfer() {
  absl::StatusOr<TcpListener> l = TcpListener::bind(SocketAddress::ipv4_loopback(0));
  absl::StatusOr<TcpStream> c = co_await TcpStream::connect(l->local_address());
  absl::StatusOr<TcpStream> s = co_await l->accept();
  JoinHandle<void> peer = spawn(close_after, std::move(*s), 10);
  Buffer data = Buffer::copy_of(big_pattern(32 << 20));
  absl::Status st = co_await c->send_all(data);  // the peer is gone long before the end
  EXPECT_FALSE(st.ok());
  std::optional<IoError> e = error_info(st);
  EXPECT_TRUE(e.has_value()) << st;
  EXPECT_TRUE(e->error_number == EPIPE || e->error_number == ECONNRESET) << st;
  co_await std::move(peer);
  // The connection is reset: receiving yields an error or end of stream, never a hang.
  Buffer in(16);
  absl::StatusOr<std::size_t> r = co_await c->recv(in).timeout(5s);
  EXPECT_TRUE(!r.ok() ? r.status().code() != absl::StatusCode::kDeadlineExceeded : *r == 0)
      << r.status();
}

TEST(Tcp, PeerClosingMidTransfer) {
  Runtime rt({.workers = 2});
  rt.block_on(peer_closes_mid_transfer());
}

Task<void> half_close() {
  absl::StatusOr<TcpListener> l = TcpListener::bind(SocketAddress::ipv4_loopback(0));
  absl::StatusOr<TcpStream> c = co_await TcpStream::connect(l->local_address());
  absl::StatusOr<TcpStream> s = co_await l->accept();
  EXPECT_TRUE(c->shutdown(Shutdown::kWrite).ok());
  Buffer in(16);
  absl::StatusOr<std::size_t> r = co_await s->recv(in);
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(*r, 0u);  // end of stream
  // Addresses line up.
  absl::StatusOr<SocketAddress> cl = c->local_address();
  absl::StatusOr<SocketAddress> sp = s->peer_address();
  EXPECT_TRUE(cl.ok() && sp.ok());
  EXPECT_EQ(*cl, *sp);
  EXPECT_EQ(*c->peer_address(), l->local_address());
}

TEST(Tcp, ShutdownAndAddresses) {
  Runtime rt({.workers = 2});
  rt.block_on(half_close());
}

Task<void> connect_refused() {
  absl::StatusOr<TcpListener> l = TcpListener::bind(SocketAddress::ipv4_loopback(0));
  std::uint16_t port = l->local_address().port();
  EXPECT_TRUE((co_await l->close()).ok());  // nobody listens on `port` now
  absl::StatusOr<TcpStream> s = co_await TcpStream::connect(SocketAddress::ipv4_loopback(port));
  EXPECT_EQ(s.status().code(), absl::StatusCode::kUnavailable) << s.status();
  EXPECT_EQ(error_info(s.status())->error_number, ECONNREFUSED);
  EXPECT_EQ(error_info(s.status())->operation, "connect");
  EXPECT_NE(s.status().message().find(std::to_string(port)), std::string_view::npos);
}

TEST(Tcp, ConnectToAClosedPort) {
  int before = open_fds();
  {
    Runtime rt({.workers = 2});
    rt.block_on(connect_refused());
  }
  EXPECT_EQ(settle_fds(before), before);
}

Task<void> timeouts() {
  absl::StatusOr<TcpListener> l = TcpListener::bind(SocketAddress::ipv4_loopback(0));
  // accept with nobody connecting: fires.
  auto t0 = std::chrono::steady_clock::now();
  absl::StatusOr<TcpStream> a = co_await l->accept().timeout(30ms);
  EXPECT_EQ(a.status().code(), absl::StatusCode::kDeadlineExceeded) << a.status();
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 30ms);
  EXPECT_EQ(error_info(a.status())->error_number, ETIMEDOUT);

  absl::StatusOr<TcpStream> c = co_await TcpStream::connect(l->local_address()).timeout(5s);
  EXPECT_TRUE(c.ok()) << c.status();  // does not fire
  absl::StatusOr<TcpStream> s = co_await l->accept().timeout(5s);
  EXPECT_TRUE(s.ok()) << s.status();

  // recv with no data: fires, and the buffer comes back untouched.
  Buffer in(64);
  in.append("kept");
  absl::StatusOr<std::size_t> r = co_await s->recv(in).timeout(20ms);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDeadlineExceeded) << r.status();
  EXPECT_EQ(in.view(), "kept");
  // executor::timeout on the operation is the same: the op's deadline, the buffer kept.
  absl::StatusOr<std::size_t> rt = co_await executor::timeout(20ms, s->recv(in));
  EXPECT_EQ(rt.status().code(), absl::StatusCode::kDeadlineExceeded) << rt.status();
  EXPECT_EQ(error_info(rt.status())->error_number, ETIMEDOUT);
  EXPECT_EQ(in.view(), "kept");
  // An earlier deadline the op already has wins.
  auto t1 = std::chrono::steady_clock::now();
  absl::StatusOr<std::size_t> re = co_await executor::timeout(10s, s->recv(in).timeout(20ms));
  EXPECT_EQ(re.status().code(), absl::StatusCode::kDeadlineExceeded) << re.status();
  EXPECT_LT(std::chrono::steady_clock::now() - t1, 5s);
  EXPECT_EQ(in.view(), "kept");
  // The stream still works afterwards, and a timeout that does not fire changes nothing.
  Buffer out = Buffer::copy_of("late data");
  EXPECT_TRUE((co_await c->send_all(out)).ok());
  in.clear();
  absl::StatusOr<std::size_t> r2 = co_await s->recv(in).timeout(5s);
  EXPECT_TRUE(r2.ok()) << r2.status();
  EXPECT_EQ(in.view(), "late data");
  // A deadline already in the past expires the operation at once (or it completes first).
  absl::StatusOr<std::size_t> r3 = co_await s->recv(in).timeout(0ms);
  EXPECT_EQ(r3.status().code(), absl::StatusCode::kDeadlineExceeded);
}

TEST(Tcp, TimeoutsThatFireAndThatDoNot) {
  Runtime rt({.workers = 2});
  rt.block_on(timeouts());
}

Task<void> connect_n(SocketAddress addr, int n) {
  for (int i = 0; i < n; ++i) {
    absl::StatusOr<TcpStream> s = co_await TcpStream::connect(addr);
    EXPECT_TRUE(s.ok()) << s.status();
    Buffer b(1);  // wait until the server side is closed (accepted or not, it closes)
    (void)co_await s->recv(b).timeout(2s);
  }
}

// An accept in a task of its own: executor::timeout cancels it by destroying the task's frame
// (an accept op given to executor::timeout directly would get a deadline instead).
Task<absl::StatusOr<TcpStream>> accept_once(TcpListener* l) {
  co_return co_await l->accept();
}

Task<int> accept_races(int n) {
  absl::StatusOr<TcpListener> l = TcpListener::bind(SocketAddress::ipv4_loopback(0));
  JoinHandle<void> clients = spawn(connect_n, l->local_address(), n);
  int accepted = 0;
  // Each connection is either accepted (then dropped) or closed by a cancelled accept that won
  // the race; either way its client sees it closed and connects the next one.
  for (int i = 0; !clients.is_finished(); ++i) {
    // Cancel the accept at varying points: destroying the child task (executor::timeout) or a
    // per-operation deadline. A connection accepted after the cancel must be closed.
    if (i % 2 == 0) {
      auto r = co_await executor::timeout(std::chrono::microseconds(i % 40), accept_once(&*l));
      if (r.ok() && r->ok()) ++accepted;
    } else {
      auto r = co_await l->accept().timeout(std::chrono::microseconds(i % 40));
      if (r.ok()) ++accepted;
    }
  }
  co_await std::move(clients);
  co_return accepted;
}

TEST(Tcp, CancelledAcceptsNeverLeakConnections) {
  int before = open_fds();
  {
    Runtime rt({.workers = 2});
    EXPECT_GT(rt.block_on(accept_races(100)), 0);
  }
  EXPECT_EQ(settle_fds(before), before);
}

Task<void> ipv6_echo() {
  absl::StatusOr<TcpListener> l = TcpListener::bind(SocketAddress::ipv6_loopback(0));
  EXPECT_TRUE(l.ok()) << l.status();
  if (!l.ok()) co_return;
  EXPECT_TRUE(l->local_address().is_ipv6());
  JoinHandle<void> server = spawn(echo_server, &*l, 1);
  EXPECT_EQ(co_await echo_client(l->local_address(), 7, 3), 3);
  co_await std::move(server);
}

TEST(Tcp, Ipv6Loopback) {
  int probe = ::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (probe < 0) GTEST_SKIP() << "no IPv6 on this machine";
  ::close(probe);
  Runtime rt({.workers = 2});
  rt.block_on(ipv6_echo());
}

Task<void> bad_input() {
  TcpStream none;
  Buffer b(8);
  EXPECT_EQ(error_info((co_await none.recv(b)).status())->error_number, EBADF);
  Buffer d = Buffer::copy_of("x");
  EXPECT_EQ(error_info((co_await none.send(d)).status())->error_number, EBADF);
  EXPECT_EQ(error_info(none.shutdown())->error_number, EBADF);
  EXPECT_FALSE(none.peer_address().ok());
  EXPECT_TRUE((co_await none.close()).ok());
  TcpListener nl;
  EXPECT_EQ(error_info((co_await nl.accept()).status())->error_number, EBADF);

  absl::StatusOr<TcpListener> l = TcpListener::bind(SocketAddress::ipv4_loopback(0));
  absl::StatusOr<TcpStream> c = co_await TcpStream::connect(l->local_address());
  Buffer empty;
  EXPECT_EQ((co_await c->recv(empty)).status().code(), absl::StatusCode::kInvalidArgument);
  Buffer nothing(10);
  EXPECT_EQ((co_await c->send(nothing)).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE((co_await c->send_all(nothing)).ok());  // nothing to do
  // Binding a port in use.
  absl::StatusOr<TcpListener> again =
      TcpListener::bind(l->local_address(), ListenOptions{.reuse_address = false});
  EXPECT_EQ(error_info(again.status())->error_number, EADDRINUSE) << again.status();
  EXPECT_EQ(again.status().code(), absl::StatusCode::kAlreadyExists) << again.status();
  EXPECT_EQ(TcpListener::bind(l->local_address(), ListenOptions{.backlog = 0}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(TcpStream::adopt(-1).status().code(), absl::StatusCode::kInvalidArgument);
  // Descriptors that are not stream sockets are refused (the caller keeps them).
  int p[2];
  EXPECT_EQ(::pipe(p), 0);
  absl::StatusOr<TcpStream> notsock = TcpStream::adopt(p[0]);
  EXPECT_EQ(notsock.status().code(), absl::StatusCode::kInvalidArgument) << notsock.status();
  EXPECT_EQ(error_info(notsock.status())->error_number, ENOTSOCK);
  ::close(p[0]);
  ::close(p[1]);
  int file = ::open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
  EXPECT_GE(file, 0);
  EXPECT_EQ(TcpStream::adopt(file).status().code(), absl::StatusCode::kInvalidArgument);
  ::close(file);
  int udp = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  EXPECT_EQ(TcpStream::adopt(udp).status().code(), absl::StatusCode::kInvalidArgument);
  ::close(udp);
  EXPECT_EQ(TcpStream::adopt(19'999).status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(Tcp, BadInputGetsAClearError) {
  int before = open_fds();
  {
    Runtime rt({.workers = 2});
    rt.block_on(bad_input());
  }
  EXPECT_EQ(settle_fds(before), before);
}

// A parse error quotes a bounded prefix of the input, not all of it.
TEST(SocketAddress, ParseErrorsTruncateTheInput) {
  std::string huge(1 << 20, '9');
  for (auto r : {SocketAddress::parse(huge), SocketAddress::parse(huge + ":80"),
                 SocketAddress::parse("1.2.3.4:" + huge), SocketAddress::parse(huge, 80)}) {
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_LT(r.status().message().size(), 256u) << r.status().message().substr(0, 300);
  }
  auto small = SocketAddress::parse("not an address");
  EXPECT_NE(small.status().message().find("not an address"), std::string_view::npos);
  auto big = SocketAddress::parse(huge);
  EXPECT_NE(big.status().message().find("1048576 bytes"), std::string_view::npos)
      << big.status().message();
}

TEST(SocketAddress, ParsesAndFormats) {
  auto a = SocketAddress::parse("127.0.0.1:8080");
  ASSERT_TRUE(a.ok());
  EXPECT_TRUE(a->is_ipv4());
  EXPECT_EQ(a->port(), 8080);
  EXPECT_EQ(a->to_string(), "127.0.0.1:8080");
  auto b = SocketAddress::parse("[::1]:443");
  ASSERT_TRUE(b.ok());
  EXPECT_TRUE(b->is_ipv6());
  EXPECT_EQ(b->to_string(), "[::1]:443");
  EXPECT_EQ(*SocketAddress::parse(b->to_string()), *b);
  EXPECT_EQ(*SocketAddress::parse("::1", 443), *b);
  EXPECT_EQ(SocketAddress::ipv4_loopback(0).to_string(), "127.0.0.1:0");
  EXPECT_EQ(SocketAddress::ipv6_any(5).to_string(), "[::]:5");
  for (const char* bad :
       {"", "127.0.0.1", "127.0.0.1:", "127.0.0.1:65536", "127.0.0.1:-1", "localhost:80", "::1:80",
        "[::1]", "[::1]80", "[127.0.0.1]:80", "1.2.3.4.5:80", "[::1]:8a", "999.0.0.1:1"}) {
    auto r = SocketAddress::parse(bad);
    EXPECT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_FALSE(SocketAddress::parse(std::string_view("1.2.3.4\0", 8), 1).ok());
}

}  // namespace
}  // namespace executor::io
