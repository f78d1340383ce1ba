// tcp_echo, in one process: 50 connections over 127.0.0.1, each with one 64-byte message in
// flight, echoed by a server task per connection — through executor::io, and the same traffic
// driven by one raw liburing ring in one thread (both ends), for the ratio. (The suite-level
// tcp_echo with a separate load-generator process lives with the other workloads in bench/.)
//
//   ./build/release/bench/io_echo_bench --benchmark_min_time=0.5
//
// items_per_second is round trips/s (one message there and back).
#include <arpa/inet.h>
#include <liburing.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <vector>

#include <benchmark/benchmark.h>

#include <executor/io/io.hpp>
#include <executor/join_handle.hpp>
#include <executor/runtime.hpp>
#include <executor/spawn.hpp>

namespace {

using namespace executor;

constexpr std::size_t kMessage = 64;
constexpr int kRoundTrips = 200;  // per connection per benchmark iteration

Task<void> echo(io::TcpStream s) {
  io::Buffer buf(4096);
  for (;;) {
    buf.clear();
    absl::StatusOr<std::size_t> n = co_await s.recv(buf);
    if (!n.ok() || *n == 0) co_return;
    if (!(co_await s.send_all(buf)).ok()) co_return;
  }
}

Task<void> accept_all(io::TcpListener* l, int n) {
  for (int i = 0; i < n; ++i) {
    absl::StatusOr<io::TcpStream> s = co_await l->accept();
    if (!s.ok()) std::abort();
    (void)s->set_nodelay(true);
    spawn(echo, std::move(*s)).detach();
  }
}

Task<std::vector<io::TcpStream>> connect_all(io::SocketAddress addr, int n) {
  std::vector<io::TcpStream> out;
  for (int i = 0; i < n; ++i) {
    absl::StatusOr<io::TcpStream> s = co_await io::TcpStream::connect(addr);
    if (!s.ok()) std::abort();
    (void)s->set_nodelay(true);
    out.push_back(std::move(*s));
  }
  co_return out;
}

Task<void> client(io::TcpStream* s, int round_trips) {
  io::Buffer out(kMessage);
  std::memset(out.data(), 'x', kMessage);
  out.resize(kMessage);
  io::Buffer in(kMessage);
  for (int i = 0; i < round_trips; ++i) {
    if (!(co_await s->send_all(out)).ok()) std::abort();
    in.clear();
    if (!(co_await s->recv_exact(in)).ok()) std::abort();
  }
}

Task<void> all_clients(std::vector<io::TcpStream>* conns) {
  std::vector<JoinHandle<void>> hs;
  for (auto& c : *conns) hs.push_back(spawn(client, &c, kRoundTrips));
  for (auto& h : hs) co_await std::move(h);
}

Task<void> setup(io::TcpListener* l, std::vector<io::TcpStream>* conns, int n) {
  JoinHandle<void> acceptor = spawn(accept_all, l, n);
  *conns = co_await connect_all(l->local_address(), n);
  co_await std::move(acceptor);
}

void BM_ExecutorEcho(benchmark::State& state) {
  int n = static_cast<int>(state.range(0));
  std::vector<io::TcpStream> conns;
  Runtime rt({.workers = 2});
  absl::StatusOr<io::TcpListener> l = io::TcpListener::bind(io::SocketAddress::ipv4_loopback(0));
  if (!l.ok()) std::abort();
  rt.block_on(setup(&*l, &conns, n));
  for (auto _ : state) rt.block_on(all_clients(&conns));
  state.SetItemsProcessed(state.iterations() * n * kRoundTrips);
  rt.block_on([](std::vector<io::TcpStream>* c) -> Task<void> {
    c->clear();  // closes the clients (on a worker: asynchronously); the servers see EOF
    co_return;
  }(&conns));
}
BENCHMARK(BM_ExecutorEcho)->Arg(50)->UseRealTime()->Unit(benchmark::kMillisecond);

// Both ends on one ring: client send -> server recv -> server send -> client recv -> ...
void BM_RawUringEcho(benchmark::State& state) {
  int n = static_cast<int>(state.range(0));
  int l = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (::bind(l, reinterpret_cast<sockaddr*>(&a), sizeof a) < 0 || ::listen(l, 128) < 0) {
    std::abort();
  }
  ::getsockname(l, reinterpret_cast<sockaddr*>(&a), &len);
  std::vector<int> cfd(n), sfd(n);
  int one = 1;
  for (int i = 0; i < n; ++i) {
    cfd[i] = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (::connect(cfd[i], reinterpret_cast<sockaddr*>(&a), sizeof a) < 0) std::abort();
    sfd[i] = ::accept4(l, nullptr, nullptr, SOCK_CLOEXEC);
    ::setsockopt(cfd[i], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    ::setsockopt(sfd[i], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  io_uring ring;
  if (io_uring_queue_init(256, &ring, 0) < 0) {
    state.SkipWithError("io_uring unavailable");
    return;
  }
  // user_data = conn * 4 + stage: 0 client send, 1 server recv, 2 server send, 3 client recv.
  std::vector<char> cbuf(n * kMessage, 'x'), sbuf(n * kMessage), rbuf(n * kMessage);
  auto prep = [&](int c, int stage, unsigned got) {
    io_uring_sqe* sqe = io_uring_get_sqe(&ring);
    if (sqe == nullptr) {
      io_uring_submit(&ring);
      sqe = io_uring_get_sqe(&ring);
    }
    switch (stage) {
      case 0:
        io_uring_prep_send(sqe, cfd[c], &cbuf[c * kMessage], kMessage, 0);
        break;
      case 1:
        io_uring_prep_recv(sqe, sfd[c], &sbuf[c * kMessage], kMessage, 0);
        break;
      case 2:
        io_uring_prep_send(sqe, sfd[c], &sbuf[c * kMessage], got, 0);
        break;
      default:
        io_uring_prep_recv(sqe, cfd[c], &rbuf[c * kMessage], kMessage, 0);
        break;
    }
    io_uring_sqe_set_data64(sqe, static_cast<std::uint64_t>(c) * 4 + stage);
  };
  std::vector<int> left(n);
  std::vector<unsigned> pending(n);  // bytes the client still expects
  for (auto _ : state) {
    int active = n;
    for (int c = 0; c < n; ++c) {
      left[c] = kRoundTrips;
      pending[c] = kMessage;
      prep(c, 1, 0);
      prep(c, 0, 0);
      prep(c, 3, 0);
    }
    while (active > 0) {
      io_uring_submit_and_wait(&ring, 1);
      unsigned head, seen = 0;
      io_uring_cqe* cqe;
      io_uring_for_each_cqe(&ring, head, cqe) {
        ++seen;
        int c = static_cast<int>(cqe->user_data / 4);
        int stage = static_cast<int>(cqe->user_data % 4);
        if (cqe->res <= 0) std::abort();
        unsigned got = static_cast<unsigned>(cqe->res);
        if (stage == 1) prep(c, 2, got);  // echo what came
        if (stage == 2 && left[c] > 1) prep(c, 1, 0);
        if (stage == 3) {
          pending[c] -= got;
          if (pending[c] > 0) {
            prep(c, 3, 0);
          } else if (--left[c] > 0) {
            pending[c] = kMessage;
            prep(c, 0, 0);
            prep(c, 3, 0);
          } else {
            --active;
          }
        }
      }
      io_uring_cq_advance(&ring, seen);
    }
  }
  state.SetItemsProcessed(state.iterations() * n * kRoundTrips);
  io_uring_queue_exit(&ring);
  for (int i = 0; i < n; ++i) {
    ::close(cfd[i]);
    ::close(sfd[i]);
  }
  ::close(l);
}
BENCHMARK(BM_RawUringEcho)->Arg(50)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
