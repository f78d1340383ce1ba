// The worked example of docs/cancellation.md: a server whose accept loop, metrics loop and
// config watcher run in one TaskResultBundle and stop together on SIGTERM/SIGINT, or when one of
// them fails. tests/cancel/bundle_server_test.cpp runs it as a child process.
//
//   cancel_bundle_server CONFIG_FILE
//
// Prints "listening on port N", answers every TCP connection with "hello\n", prints metrics,
// reloads CONFIG_FILE when it changes (a file containing "fail" is a fatal configuration error).
// Exits 0 after a signal, 1 if a component failed.
//
// The accept loop polls a non-blocking socket so that this example needs nothing beyond the core;
// with the I/O layer it becomes `co_await executor::run_until_cancelled(stop, listener.accept())`.
#include <executor/executor.hpp>
#include <executor/signals.hpp>
#include <executor/task_result_bundle.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>
#include <system_error>

using namespace std::chrono_literals;
using executor::CancellationToken;
using executor::Task;

namespace {

struct Stats {
  std::atomic<long> accepted{0};
  std::atomic<long> reloads{0};
};

// Component 1: accept connections until told to stop.
Task<void> accept_loop(CancellationToken stop, int listen_fd, std::shared_ptr<Stats> stats) {
  while (!stop.is_cancelled()) {
    int c = ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (c >= 0) {
      [[maybe_unused]] ssize_t w = ::write(c, "hello\n", 6);
      ::close(c);
      stats->accepted.fetch_add(1);
      continue;
    }
    if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != ECONNABORTED) {
      throw std::system_error(errno, std::generic_category(), "accept");
    }
    // Wait for the next poll, or for the stop token, whichever comes first.
    (void)co_await executor::run_until_cancelled(stop, executor::sleep(2ms));
  }
  std::printf("accept loop stopped\n");
}

// Component 2: report metrics periodically.
Task<void> metrics_loop(CancellationToken stop, std::shared_ptr<Stats> stats) {
  while (!stop.is_cancelled()) {
    std::printf("metrics: accepted=%ld reloads=%ld\n", stats->accepted.load(),
                stats->reloads.load());
    std::fflush(stdout);
    (void)co_await executor::run_until_cancelled(stop, executor::sleep(50ms));
  }
  std::printf("metrics loop stopped\n");
}

// Component 3: reload the configuration when the file changes; a bad one is fatal.
Task<void> config_watcher(CancellationToken stop, std::string path, std::shared_ptr<Stats> stats) {
  struct timespec seen {};
  while (!stop.is_cancelled()) {
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0 &&
        (st.st_mtim.tv_sec != seen.tv_sec || st.st_mtim.tv_nsec != seen.tv_nsec)) {
      seen = st.st_mtim;
      std::ifstream in(path);
      std::string content;
      std::getline(in, content);
      if (content == "fail") throw std::runtime_error("bad config: " + path);
      stats->reloads.fetch_add(1);
    }
    (void)co_await executor::run_until_cancelled(stop, executor::sleep(5ms));
  }
  std::printf("config watcher stopped\n");
}

int listen_on_loopback() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "socket");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), len) != 0 || ::listen(fd, 64) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    int err = errno;
    ::close(fd);
    throw std::system_error(err, std::generic_category(), "listen");
  }
  std::printf("listening on port %d\n", ntohs(addr.sin_port));
  std::fflush(stdout);
  return fd;
}

Task<int> app(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s CONFIG_FILE\n", argv[0]);
    co_return 2;
  }
  auto stats = std::make_shared<Stats>();
  int listen_fd = listen_on_loopback();

  // The bundle's token is a child of the shutdown token: SIGTERM stops every component, and a
  // failing component stops the others (without touching the process-wide shutdown token).
  executor::TaskResultBundle<void> bundle(executor::signals::new_shutdown_token());
  bundle.add("accept", accept_loop, bundle.token(), listen_fd, stats);
  bundle.add("metrics", metrics_loop, bundle.token(), stats);
  bundle.add("config", config_watcher, bundle.token(), std::string(argv[1]), stats);

  int code = 0;
  try {
    co_await bundle.join_all();  // every component has stopped when this returns or throws
    std::printf("shut down on signal %d\n", executor::signals::shutdown_signal());
  } catch (const executor::TaskFailed& e) {
    std::printf("%s\n", e.what());
    code = 1;
  }
  ::close(listen_fd);
  std::printf("cleanup done: accepted=%ld\n", stats->accepted.load());
  std::fflush(stdout);
  co_return code;
}

}  // namespace

EXECUTOR_MAIN(app)
