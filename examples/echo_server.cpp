// A TCP echo server: one task per connection (in a JoinSet), stops cleanly on SIGTERM or SIGINT.
//
//   echo_server [ADDRESS:PORT]        default 127.0.0.1:7000; port 0 picks a free port
//
// It prints "listening on ADDRESS:PORT" once ready. On SIGTERM/SIGINT (the shutdown token of
// <executor/signals.hpp>) it stops accepting, tells every connection to finish, and exits with
// status 0 once they have.
#include <pthread.h>
#include <signal.h>

#include <cstdio>
#include <optional>
#include <string>
#include <utility>

#include <executor/cancellation_token.hpp>
#include <executor/executor.hpp>
#include <executor/io/io.hpp>
#include <executor/join_set.hpp>
#include <executor/signals.hpp>

using namespace executor;

namespace {

// Optional, and done before main() so that EXECUTOR_MAIN's runtime threads inherit it: with
// SIGTERM/SIGINT blocked everywhere else, the shutdown token's watcher thread (which unblocks
// them) is the one that takes the signal, rather than whichever worker the kernel picks.
[[maybe_unused]] const bool g_signals_routed = [] {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  return pthread_sigmask(SIG_BLOCK, &set, nullptr) == 0;
}();

Task<void> serve(io::TcpStream conn, CancellationToken stop) {
  io::Buffer buf(16 * 1024);
  for (;;) {
    buf.clear();
    // A receive that waits forever on an idle client ends (kCancelled) when `stop` fires.
    absl::StatusOr<std::size_t> n = co_await conn.recv(buf).cancel_on(stop);
    if (!n.ok() || *n == 0) co_return;  // stopping, error, or the client closed
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

  // Cancelled by SIGTERM or SIGINT.
  CancellationToken stop = signals::new_shutdown_token();
  std::printf("listening on %s\n", listener->local_address().to_string().c_str());
  std::fflush(stdout);

  // The connections' tasks. Should app() leave early, the set's destructor aborts them.
  JoinSet<void> connections;
  for (;;) {
    absl::StatusOr<io::TcpStream> conn = co_await listener->accept().cancel_on(stop);
    if (absl::IsCancelled(conn.status())) break;  // SIGTERM/SIGINT
    if (!conn.ok()) {
      std::fprintf(stderr, "echo_server: %s\n", conn.status().ToString().c_str());
      continue;  // e.g. EMFILE: keep serving the others
    }
    connections.spawn(serve, std::move(*conn), stop);
    // Forget connections that are done (O(1) each), so a long-running server does not grow.
    while (connections.try_join_next()) {
    }
  }
  // `stop` has told every connection to finish: wait for them.
  // (A declaration as the condition: see the GCC 12 HACK in task.hpp.)
  while (std::optional<Joined<void>> done = co_await connections.join_next()) {
  }
  std::printf("stopped\n");
  co_return 0;
}

}  // namespace

EXECUTOR_MAIN(app)
