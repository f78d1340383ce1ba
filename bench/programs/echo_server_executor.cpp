// Workload `tcp_echo` (../shared/BENCHMARKS.md), executor's server: the program a user writes
// with executor::io (as examples/echo_server.cpp does), measured from outside by bench/loadgen.
//
//   echo_server_executor --port=7000 [--host=127.0.0.1] [--receiver] [--acceptor]
//                        [--buffer_size=4096] [--receiver_buffers=8]
//
// 2 worker threads (EXECUTOR_WORKERS overrides); one accept loop; one task per connection that
// receives into a 4 KiB buffer (--buffer_size) and sends back what arrived (send_all loops on
// short sends), like the raw liburing baseline (bench/baselines/uring_echo_server.cpp) and the
// Asio one (bench/baselines/asio_echo_server.cpp).
// --receiver: each connection receives through an io::Receiver (a multishot receive with
// --receiver_buffers provided buffers of --buffer_size bytes; io::TcpStream::receiver) instead of
// one recv per message, and sends back a copy of each chunk. --acceptor: the accept loop uses an
// io::Acceptor (a multishot accept; TcpListener::acceptor) instead of one accept per connection.
// TCP_NODELAY on every accepted socket, as in both baselines. Raises RLIMIT_NOFILE to the hard
// limit (tcp_echo_10k and idle_connections keep 10,000 connections). Runs until killed (the bench
// driver sends SIGTERM); there is deliberately no graceful shutdown path (no cancellation token
// on the receives), because the baselines have none either.
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <utility>

#include <absl/flags/flag.h>
#include <absl/flags/parse.h>

#include <executor/executor.hpp>
#include <executor/io/io.hpp>

#include "common/net.hpp"

ABSL_FLAG(std::string, host, "127.0.0.1", "listen address (loopback only)");
ABSL_FLAG(int, port, 7000, "listen port");
ABSL_FLAG(bool, receiver, false, "receive with io::Receiver (multishot) instead of recv");
ABSL_FLAG(bool, acceptor, false, "accept with io::Acceptor (multishot) instead of accept");
ABSL_FLAG(int, buffer_size, 4096, "bytes per receive buffer (1..65536)");
ABSL_FLAG(int, receiver_buffers, 8, "buffers per io::Receiver with --receiver (1..1024)");

namespace {

using namespace executor;

struct ConnOptions {
  std::size_t buffer_size;
  std::uint32_t receiver_buffers;
};

Task<void> serve(io::TcpStream conn, ConnOptions opt) {
  (void)conn.set_nodelay(true);
  io::Buffer buf(opt.buffer_size);
  for (;;) {
    buf.clear();
    absl::StatusOr<std::size_t> n = co_await conn.recv(buf);
    if (!n.ok() || *n == 0) co_return;  // error, or the client closed
    if (!(co_await conn.send_all(buf)).ok()) co_return;
  }
}

Task<void> serve_receiver(io::TcpStream conn, ConnOptions opt) {
  (void)conn.set_nodelay(true);
  absl::StatusOr<io::Receiver> rx =
      conn.receiver({.buffers = opt.receiver_buffers,
                     .buffer_size = static_cast<std::uint32_t>(opt.buffer_size)});
  if (!rx.ok()) co_return;
  io::Buffer buf(opt.buffer_size);
  for (;;) {
    absl::StatusOr<io::Chunk> chunk = co_await rx->next();
    if (!chunk.ok() || chunk->empty()) co_return;  // error, or the client closed
    buf.clear();
    buf.append(chunk->view());
    chunk->release();
    if (!(co_await conn.send_all(buf)).ok()) co_return;
  }
}

Task<int> app(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  std::string host = absl::GetFlag(FLAGS_host);
  int port = absl::GetFlag(FLAGS_port);
  sockaddr_storage check;
  socklen_t check_len;
  if (!bench::loopback_address(host, port, check, check_len)) {
    std::fprintf(stderr, "--host must be a loopback address and --port in 1..65535\n");
    co_return 2;
  }
  const int buffer_size = absl::GetFlag(FLAGS_buffer_size);
  const int receiver_buffers = absl::GetFlag(FLAGS_receiver_buffers);
  if (buffer_size < 1 || buffer_size > 65536 || receiver_buffers < 1 || receiver_buffers > 1024) {
    std::fprintf(stderr, "--buffer_size must be in 1..65536, --receiver_buffers in 1..1024\n");
    co_return 2;
  }
  const ConnOptions conn_options{static_cast<std::size_t>(buffer_size),
                                 static_cast<std::uint32_t>(receiver_buffers)};
  bench::raise_fd_limit();
  absl::StatusOr<io::SocketAddress> addr = io::SocketAddress::parse(
      host == "localhost" ? "127.0.0.1" : host, static_cast<std::uint16_t>(port));
  if (!addr.ok()) {
    std::fprintf(stderr, "echo_server_executor: %s\n", addr.status().ToString().c_str());
    co_return 2;
  }
  absl::StatusOr<io::TcpListener> listener = io::TcpListener::bind(*addr);
  if (!listener.ok()) {
    std::fprintf(stderr, "echo_server_executor: %s\n", listener.status().ToString().c_str());
    co_return 1;
  }
  const bool use_receiver = absl::GetFlag(FLAGS_receiver);
  std::optional<io::Acceptor> acceptor;
  if (absl::GetFlag(FLAGS_acceptor)) {
    absl::StatusOr<io::Acceptor> a = listener->acceptor();
    if (!a.ok()) {
      std::fprintf(stderr, "echo_server_executor: %s\n", a.status().ToString().c_str());
      co_return 1;
    }
    acceptor.emplace(std::move(*a));
  }
  for (;;) {
    absl::StatusOr<io::TcpStream> conn = absl::UnknownError("");
    if (acceptor) {
      conn = co_await acceptor->accept();
    } else {
      conn = co_await listener->accept();
    }
    if (!conn.ok()) {
      std::fprintf(stderr, "echo_server_executor: %s\n", conn.status().ToString().c_str());
      continue;  // e.g. EMFILE: keep serving the others
    }
    spawn(use_receiver ? serve_receiver : serve, std::move(*conn), conn_options).detach();
  }
}

}  // namespace

EXECUTOR_MAIN_WITH(app, (executor::MainOptions{.workers = 2}))
