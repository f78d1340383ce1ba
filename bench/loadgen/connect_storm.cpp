// An accept burst for the echo servers: opens --connections TCP connections one after another
// as fast as the kernel completes them (a blocking connect on loopback returns once the
// connection sits in the server's listen backlog, so the server sees a continuous burst), and
// closes each at once with a reset (SO_LINGER 0: no TIME_WAIT, so ports do not run out).
//
//   connect_storm --port=7000 [--host=127.0.0.1] [--connections=20000]
//
// Prints: impl=connect_storm connections=... seconds=... conns_per_s=...
// The driver divides the server's CPU time over the storm by the connections.
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>

#include <absl/flags/flag.h>
#include <absl/flags/parse.h>

#include "common/net.hpp"

ABSL_FLAG(std::string, host, "127.0.0.1", "server address (loopback only)");
ABSL_FLAG(int, port, 0, "server port");
ABSL_FLAG(int, connections, 20000, "connections to open (1..1000000)");

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  sockaddr_storage addr;
  socklen_t len;
  int n = absl::GetFlag(FLAGS_connections);
  if (!bench::loopback_address(absl::GetFlag(FLAGS_host), absl::GetFlag(FLAGS_port), addr, len) ||
      n < 1 || n > 1'000'000) {
    std::fprintf(stderr,
                 "connect_storm: --host must be loopback, --port 1..65535, "
                 "--connections 1..1000000\n");
    return 2;
  }
  linger lg{1, 0};
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < n; ++i) {
    int fd = ::socket(addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) bench::die("socket");
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), len) != 0) bench::die("connect");
    ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    ::close(fd);
  }
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("impl=connect_storm connections=%d seconds=%.3f conns_per_s=%.0f\n", n, s, n / s);
  return 0;
}
