// A TCP echo server: one task per connection, stops cleanly on SIGTERM or SIGINT.
//
//   echo_server [ADDRESS:PORT]        default 127.0.0.1:7000; port 0 picks a free port
//
// It prints "listening on ADDRESS:PORT" once ready. On SIGTERM/SIGINT it stops accepting,
// tells every connection to finish, and exits with status 0 once they have.
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include <executor/cancellation_token.hpp>
#include <executor/executor.hpp>
#include <executor/io/io.hpp>
#include <executor/run_until_cancelled.hpp>

using namespace executor;

namespace {

// SIGTERM and SIGINT are blocked in every thread and read from a signalfd, so they arrive as
// ordinary I/O (no async signal handler). The mask is set before main(), hence before
// EXECUTOR_MAIN's runtime starts its threads, which inherit it.
sigset_t stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  return set;
}
const bool g_signals_blocked = [] {
  sigset_t set = stop_signals();
  return pthread_sigmask(SIG_BLOCK, &set, nullptr) == 0;
}();

// Completes when SIGTERM or SIGINT arrives, then cancels `stop`.
Task<void> wait_for_signal(io::File signals, CancellationToken stop) {
  io::Buffer buf(sizeof(signalfd_siginfo));
  absl::StatusOr<std::size_t> n = co_await signals.read(buf);
  if (!n.ok()) std::fprintf(stderr, "echo_server: %s\n", n.status().ToString().c_str());
  stop.cancel();
}

Task<void> serve(io::TcpStream conn, CancellationToken stop) {
  io::Buffer buf(16 * 1024);
  for (;;) {
    buf.clear();
    // A receive that waits forever on an idle client ends when `stop` fires.
    auto n = co_await run_until_cancelled(stop, conn.recv(buf));
    if (!n.ok() || !n->ok() || **n == 0) co_return;  // stopping, error, or the client closed
    if (!(co_await conn.send_all(buf)).ok()) co_return;
  }
}

Task<int> app(int argc, char** argv) {
  std::string where = argc > 1 ? argv[1] : "127.0.0.1:7000";
  absl::StatusOr<io::SocketAddress> addr = io::SocketAddress::parse(where);
  if (!addr.ok()) {
    std::fprintf(stderr, "echo_server: %s\n", addr.status().ToString().c_str());
    co_return 2;
  }
  absl::StatusOr<io::TcpListener> listener = io::TcpListener::bind(*addr);
  if (!listener.ok()) {
    std::fprintf(stderr, "echo_server: %s\n", listener.status().ToString().c_str());
    co_return 1;
  }

  sigset_t set = stop_signals();
  absl::StatusOr<io::File> signals = io::File::adopt(::signalfd(-1, &set, SFD_CLOEXEC));
  if (!g_signals_blocked || !signals.ok()) {
    std::fprintf(stderr, "echo_server: cannot receive SIGTERM/SIGINT\n");
    co_return 1;
  }

  CancellationToken stop;
  JoinHandle<void> watcher = spawn(wait_for_signal, std::move(*signals), stop);
  std::printf("listening on %s\n", listener->local_address().to_string().c_str());
  std::fflush(stdout);

  std::vector<JoinHandle<void>> connections;
  for (;;) {
    auto conn = co_await run_until_cancelled(stop, listener->accept());
    if (!conn.ok()) break;  // stop fired
    if (!conn->ok()) {
      std::fprintf(stderr, "echo_server: %s\n", conn->status().ToString().c_str());
      continue;  // e.g. EMFILE: keep serving the others
    }
    connections.push_back(spawn(serve, std::move(**conn), stop));
    // Forget connections that are done, so a long-running server does not grow.
    std::erase_if(connections, [](JoinHandle<void>& h) { return h.is_finished(); });
  }
  for (JoinHandle<void>& h : connections) co_await std::move(h);
  co_await std::move(watcher);
  std::printf("stopped\n");
  co_return 0;
}

}  // namespace

EXECUTOR_MAIN(app)
