// A server-like EXECUTOR_MAIN program for tests/cancel/signals_test.cpp: an accept-like loop,
// a metrics loop and a watcher share shutdown tokens; it prints "ready", waits for SIGINT or
// SIGTERM, cleans up and exits 0.
//
//   cancel_shutdown_server            graceful shutdown
//   cancel_shutdown_server slow       the cleanup takes 30 s (a second signal must end it)
//
// With EXECUTOR_TEST_BLOCK_SIGNALS=1 in the environment, SIGINT and SIGTERM are blocked before
// main (so in every thread the runtime creates): only the signal watcher thread takes them
// (block_signals_env.cpp).
#include <executor/executor.hpp>
#include <executor/signals.hpp>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>

using namespace std::chrono_literals;

namespace cancel_test {
extern const bool g_signals_blocked;
}

namespace {

std::atomic<int> g_loops_stopped{0};

executor::Task<void> accept_loop(executor::CancellationToken stop) {
  // Stands in for `co_await listener.accept()`: each wait is ended early by the token.
  while (!stop.is_cancelled()) {
    (void)co_await executor::run_until_cancelled(stop, executor::sleep(5ms));
  }
  g_loops_stopped.fetch_add(1);
}

executor::Task<void> metrics_loop(executor::CancellationToken stop) {
  while (!stop.is_cancelled()) {
    co_await executor::sleep(2ms);
  }
  g_loops_stopped.fetch_add(1);
}

executor::Task<void> watcher(executor::CancellationToken stop) {
  co_await stop.cancelled();
  g_loops_stopped.fetch_add(1);
}

executor::Task<int> app(int argc, char** argv) {
  const bool slow = argc > 1 && std::strcmp(argv[1], "slow") == 0;
  executor::CancellationToken stop = executor::signals::new_shutdown_token();
  auto a = executor::spawn(accept_loop, stop.child());
  auto m = executor::spawn(metrics_loop, executor::signals::new_shutdown_token());
  auto w = executor::spawn(watcher, executor::signals::new_shutdown_token().child());
  std::printf("ready%s\n",
              cancel_test::g_signals_blocked ? " (signals blocked in runtime threads)" : "");
  std::fflush(stdout);

  co_await stop.cancelled();
  std::printf("shutting down on signal %d\n", executor::signals::shutdown_signal());
  std::fflush(stdout);
  if (slow) co_await executor::sleep(30s);
  co_await std::move(a);
  co_await std::move(m);
  co_await std::move(w);
  std::printf("cleanup done: %d loops stopped\n", g_loops_stopped.load());
  std::fflush(stdout);
  co_return 0;
}

}  // namespace

EXECUTOR_MAIN(app)
