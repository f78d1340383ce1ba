// Loopback sockets for the tcp_echo servers and the load generator (benchmarks only).
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace bench {

// Parses a loopback address (127.0.0.0/8, ::1 or "localhost") into `addr`; false otherwise.
// The benchmarks only ever talk to this machine: a typo must not load someone else's server.
inline bool loopback_address(const std::string& host, int port, sockaddr_storage& addr,
                             socklen_t& len) {
  std::memset(&addr, 0, sizeof addr);
  if (port <= 0 || port > 65535) return false;
  std::string h = host == "localhost" ? "127.0.0.1" : host;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&addr);
  if (inet_pton(AF_INET, h.c_str(), &v4->sin_addr) == 1) {
    if ((ntohl(v4->sin_addr.s_addr) >> 24) != 127) return false;
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<std::uint16_t>(port));
    len = sizeof(sockaddr_in);
    return true;
  }
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&addr);
  if (inet_pton(AF_INET6, h.c_str(), &v6->sin6_addr) == 1) {
    if (!IN6_IS_ADDR_LOOPBACK(&v6->sin6_addr)) return false;
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<std::uint16_t>(port));
    len = sizeof(sockaddr_in6);
    return true;
  }
  return false;
}

[[noreturn]] inline void die(const char* what) {
  std::fprintf(stderr, "%s: %s\n", what, std::strerror(errno));
  std::exit(1);
}

// A listening TCP socket on a loopback address; exits the process with a message on error.
inline int listen_loopback(const std::string& host, int port) {
  sockaddr_storage addr;
  socklen_t len;
  if (!loopback_address(host, port, addr, len)) {
    std::fprintf(stderr, "--host must be a loopback address and --port in 1..65535\n");
    std::exit(2);
  }
  int fd = ::socket(addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) die("socket");
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), len) < 0) die("bind");
  if (::listen(fd, 1024) < 0) die("listen");
  return fd;
}

// Raises this process's soft RLIMIT_NOFILE to its hard limit (tcp_echo_10k and idle_connections
// keep 10,000 sockets open in one process); returns the soft limit now in force.
inline rlim_t raise_fd_limit() {
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0) die("getrlimit(RLIMIT_NOFILE)");
  if (lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &lim) != 0) die("setrlimit(RLIMIT_NOFILE)");
  }
  return lim.rlim_cur;
}

inline void set_nodelay(int fd) {
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

}  // namespace bench
