// The client of the `idle_connections` workload (../shared/BENCHMARKS.md): memory per idle
// connection of an echo server, read from outside.
//
//   idle_connections --port=7000 --server_pid=1234 [--connections=10000]
//                    [--warmup_connections=100] [--size=64] [--settle_ms=300]
//
// Opens --warmup_connections, then --connections more, and keeps them all open in this process
// (it raises its RLIMIT_NOFILE to the hard limit). On every connection it does one echo round
// trip of --size bytes (blocking send, then receive until the whole echo is back and matches):
// once it returns, the server has accepted the connection and its per-connection task has gone
// round its loop and waits in its receive again, as on an idle keep-alive connection. The
// server's VmRSS (/proc/<server_pid>/status) is read --settle_ms after the warm-up connections
// and again after the others; the figure is the growth divided by --connections, so the
// process's one-off costs (the runtime's first connection, thread caches) stay out of it.
//
// Bounded: loopback only; every send and receive times out after 5 s, the whole run after 60 s
// (each an error exit). Prints one line:
//   impl=client workload=idle_connections connections=10000 rss_before_kb=... rss_after_kb=...
//   bytes_per_conn=...
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include <absl/flags/flag.h>
#include <absl/flags/parse.h>

#include "common/net.hpp"
#include "common/rss.hpp"

ABSL_FLAG(std::string, host, "127.0.0.1", "server address (loopback only)");
ABSL_FLAG(int, port, 0, "server port");
ABSL_FLAG(int, server_pid, 0, "the server's process id (its VmRSS is measured)");
ABSL_FLAG(int, connections, 10000, "idle connections measured (1..10000)");
ABSL_FLAG(int, warmup_connections, 100, "connections opened before the first reading (0..1000)");
ABSL_FLAG(int, size, 64, "bytes of the one echo round trip per connection (1..4096)");
ABSL_FLAG(int, settle_ms, 300, "pause before each reading of the server's RSS (0..5000 ms)");

namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kRunLimit = std::chrono::seconds(60);

[[noreturn]] void fatal(const char* msg) {
  std::fprintf(stderr, "idle_connections: %s\n", msg);
  std::exit(1);
}

// Connects, sends `size` bytes and waits for the same bytes back; returns the socket.
int open_echoed(const sockaddr_storage& addr, socklen_t len, int index, int size) {
  int fd = ::socket(addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) bench::die("socket");
  timeval timeout{.tv_sec = 5, .tv_usec = 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), len) < 0) bench::die("connect");
  bench::set_nodelay(fd);
  std::vector<unsigned char> out(static_cast<std::size_t>(size));
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = static_cast<unsigned char>(index + i);
  if (::send(fd, out.data(), out.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(out.size())) {
    bench::die("send");
  }
  std::vector<unsigned char> in(out.size());
  std::size_t got = 0;
  while (got < in.size()) {
    ssize_t n = ::recv(fd, in.data() + got, in.size() - got, 0);
    if (n == 0) fatal("the server closed a connection");
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) bench::die("recv (no echo within 5 s?)");
    got += static_cast<std::size_t>(n);
  }
  if (in != out) fatal("the echo does not match the message");
  return fd;
}

long server_rss_kb(int pid, int settle_ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(settle_ms));
  long kb = bench::proc_status_kb("VmRSS", pid);
  if (kb < 0) fatal("cannot read the server's VmRSS (did it exit?)");
  return kb;
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  const int pid = absl::GetFlag(FLAGS_server_pid);
  const int connections = absl::GetFlag(FLAGS_connections);
  const int warmup = absl::GetFlag(FLAGS_warmup_connections);
  const int size = absl::GetFlag(FLAGS_size);
  const int settle_ms = absl::GetFlag(FLAGS_settle_ms);
  sockaddr_storage addr;
  socklen_t len;
  if (!bench::loopback_address(absl::GetFlag(FLAGS_host), absl::GetFlag(FLAGS_port), addr, len)) {
    fatal("--host must be a loopback address (127.0.0.0/8, ::1, localhost), --port in 1..65535");
  }
  if (pid <= 0) fatal("--server_pid is required");
  if (connections < 1 || connections > 10000) fatal("--connections must be in 1..10000");
  if (warmup < 0 || warmup > 1000) fatal("--warmup_connections must be in 0..1000");
  if (size < 1 || size > 4096) fatal("--size must be in 1..4096");
  if (settle_ms < 0 || settle_ms > 5000) fatal("--settle_ms must be in 0..5000");
  if (bench::raise_fd_limit() < static_cast<rlim_t>(connections + warmup) + 16) {
    fatal("RLIMIT_NOFILE's hard limit is too low for the connections (raise it with ulimit -Hn)");
  }

  const Clock::time_point deadline = Clock::now() + kRunLimit;
  std::vector<int> fds;
  fds.reserve(static_cast<std::size_t>(connections + warmup));
  auto open_more = [&](int n) {
    for (int i = 0; i < n; ++i) {
      fds.push_back(open_echoed(addr, len, static_cast<int>(fds.size()), size));
      if (Clock::now() > deadline) fatal("the connections took longer than 60 s");
    }
  };
  open_more(warmup);
  const long before = server_rss_kb(pid, settle_ms);
  open_more(connections);
  const long after = server_rss_kb(pid, settle_ms);
  for (int fd : fds) ::close(fd);

  std::printf(
      "impl=client workload=idle_connections connections=%d rss_before_kb=%ld rss_after_kb=%ld "
      "bytes_per_conn=%.1f\n",
      connections, before, after,
      static_cast<double>(after - before) * 1024.0 / static_cast<double>(connections));
  return 0;
}
