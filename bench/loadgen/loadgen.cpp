// The tcp_echo load generator (../shared/BENCHMARKS.md), used against every echo server.
//
//   loadgen --host=127.0.0.1 --port=7000 --connections=50 --size=64 --seconds=5
//
// Keeps `connections` TCP connections, each with exactly one `size`-byte message in flight:
// send, wait for the whole echo, check it, send the next. One thread, epoll, non-blocking
// sockets with TCP_NODELAY: on a 2-core machine it must leave the other core to the server.
// Every client end lives in this process (tcp_echo_1k, tcp_echo_10k): it raises its
// RLIMIT_NOFILE to the hard limit and refuses --connections beyond what that allows.
// Latency is the time from the send to the last byte of the echo (1 us buckets up to 1 s, then
// 1 ms buckets up to 60 s: with 10,000 connections a round trip takes about a second).
//
// Bounded: loopback addresses only; at most --seconds (<= 60) after a --warmup (default 0.5 s,
// not measured) and at most --max_messages; exits with an error if the server stops echoing
// for 5 s or echoes wrong bytes. Prints one line:
//   impl=loadgen workload=tcp_echo connections=50 size=64 seconds=5.000 messages=...
//   messages_total=... msgs_per_s=... p50_us=... p90_us=... p99_us=... max_us=...
// where messages_total includes the warm-up (the driver divides the server's CPU time by it).
#include <fcntl.h>
#include <sys/epoll.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include <absl/flags/flag.h>
#include <absl/flags/parse.h>
#include <absl/flags/usage.h>

#include "common/net.hpp"

ABSL_FLAG(std::string, host, "127.0.0.1", "server address (loopback only)");
ABSL_FLAG(int, port, 0, "server port");
ABSL_FLAG(int, connections, 50, "concurrent connections (1..10000)");
ABSL_FLAG(int, size, 64, "message size in bytes (8..65536)");
ABSL_FLAG(double, seconds, 5.0, "measured duration in seconds (0 < s <= 60)");
ABSL_FLAG(double, warmup, 0.5, "unmeasured warm-up before the measurement (0..10 s)");
ABSL_FLAG(std::int64_t, max_messages, 100'000'000, "stop after this many messages");

namespace {

using Clock = std::chrono::steady_clock;

constexpr std::int64_t kFineUs = 1'000'000;         // 1 us buckets below 1 s
constexpr std::int64_t kCoarseUs = 1'000;           // then 1 ms buckets
constexpr std::size_t kBuckets = kFineUs + 59'000;  // up to 60 s; beyond goes to the last

struct Conn {
  int fd = -1;
  std::uint64_t seq = 0;
  std::size_t sent = 0;
  std::size_t received = 0;
  bool want_out = false;
  Clock::time_point start;
  std::vector<unsigned char> out;
  std::vector<unsigned char> in;
};

void fill(Conn& c, std::size_t index) {
  // First 8 bytes: the sequence number; the rest: a pattern of the connection and sequence.
  std::memcpy(c.out.data(), &c.seq, sizeof c.seq);
  for (std::size_t i = sizeof c.seq; i < c.out.size(); ++i) {
    c.out[i] = static_cast<unsigned char>(index * 31 + c.seq + i);
  }
}

[[noreturn]] void fatal(const char* msg) {
  std::fprintf(stderr, "loadgen: %s\n", msg);
  std::exit(1);
}

class Histogram {
 public:
  Histogram() : buckets_(kBuckets, 0) {}
  void add(std::int64_t ns) {
    std::int64_t us = ns / 1000;
    std::int64_t index = us < kFineUs ? us : kFineUs + (us - kFineUs) / kCoarseUs;
    buckets_[static_cast<std::size_t>(std::min<std::int64_t>(index, kBuckets - 1))]++;
    max_ns_ = std::max(max_ns_, ns);
    ++count_;
  }
  double percentile_us(double p) const {
    if (count_ == 0) return 0;
    std::uint64_t rank = static_cast<std::uint64_t>(p * static_cast<double>(count_ - 1));
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < buckets_.size(); ++i) {
      seen += buckets_[i];
      if (seen > rank) return midpoint_us(static_cast<std::int64_t>(i));
    }
    return midpoint_us(static_cast<std::int64_t>(kBuckets) - 1);
  }
  double max_us() const { return static_cast<double>(max_ns_) / 1e3; }

 private:
  static double midpoint_us(std::int64_t index) {
    if (index < kFineUs) return static_cast<double>(index) + 0.5;
    return static_cast<double>(kFineUs + (index - kFineUs) * kCoarseUs) + kCoarseUs / 2.0;
  }

  std::vector<std::uint32_t> buckets_;
  std::int64_t max_ns_ = 0;
  std::uint64_t count_ = 0;
};

// Writes what is left of the current message; false on a broken connection.
bool send_some(Conn& c) {
  while (c.sent < c.out.size()) {
    ssize_t n = ::send(c.fd, c.out.data() + c.sent, c.out.size() - c.sent, MSG_NOSIGNAL);
    if (n > 0) {
      c.sent += static_cast<std::size_t>(n);
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      return true;
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      return false;
    }
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage("tcp_echo load generator: loadgen --port=N [--connections=50 ...]");
  absl::ParseCommandLine(argc, argv);
  const std::string host = absl::GetFlag(FLAGS_host);
  const int port = absl::GetFlag(FLAGS_port);
  const int connections = absl::GetFlag(FLAGS_connections);
  const int size = absl::GetFlag(FLAGS_size);
  const double seconds = absl::GetFlag(FLAGS_seconds);
  const double warmup = absl::GetFlag(FLAGS_warmup);
  const std::int64_t max_messages = absl::GetFlag(FLAGS_max_messages);

  sockaddr_storage addr;
  socklen_t addr_len;
  if (!bench::loopback_address(host, port, addr, addr_len)) {
    fatal("--host must be a loopback address (127.0.0.0/8, ::1, localhost), --port in 1..65535");
  }
  if (connections < 1 || connections > 10000) fatal("--connections must be in 1..10000");
  // The epoll descriptor, stdio and a few more besides the connections.
  if (bench::raise_fd_limit() < static_cast<rlim_t>(connections) + 16) {
    fatal("RLIMIT_NOFILE's hard limit is too low for --connections (raise it with ulimit -Hn)");
  }
  if (size < 8 || size > 65536) fatal("--size must be in 8..65536");
  if (!(seconds > 0 && seconds <= 60)) fatal("--seconds must be in (0, 60]");
  if (!(warmup >= 0 && warmup <= 10)) fatal("--warmup must be in [0, 10]");
  if (max_messages < 1) fatal("--max_messages must be positive");

  int ep = ::epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) bench::die("epoll_create1");
  std::vector<Conn> conns(static_cast<std::size_t>(connections));
  for (std::size_t i = 0; i < conns.size(); ++i) {
    Conn& c = conns[i];
    c.fd = ::socket(addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c.fd < 0) bench::die("socket");
    if (::connect(c.fd, reinterpret_cast<sockaddr*>(&addr), addr_len) < 0) bench::die("connect");
    bench::set_nodelay(c.fd);
    ::fcntl(c.fd, F_SETFL, ::fcntl(c.fd, F_GETFL) | O_NONBLOCK);
    c.out.resize(static_cast<std::size_t>(size));
    c.in.resize(static_cast<std::size_t>(size));
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = i;
    if (::epoll_ctl(ep, EPOLL_CTL_ADD, c.fd, &ev) < 0) bench::die("epoll_ctl");
  }

  Histogram hist;
  std::int64_t total = 0;
  std::int64_t measured = 0;
  const Clock::time_point begin = Clock::now();
  const Clock::time_point measure_from =
      begin + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(warmup));
  const Clock::time_point end = measure_from + std::chrono::duration_cast<Clock::duration>(
                                                   std::chrono::duration<double>(seconds));
  Clock::time_point last_progress = begin;

  auto start_message = [&](std::size_t i, Clock::time_point now) {
    Conn& c = conns[i];
    ++c.seq;
    fill(c, i);
    c.sent = 0;
    c.received = 0;
    c.start = now;
    if (!send_some(c)) fatal("send failed (the server closed the connection?)");
    bool want_out = c.sent < c.out.size();
    if (want_out != c.want_out) {
      epoll_event ev{};
      ev.events = EPOLLIN | (want_out ? EPOLLOUT : 0u);
      ev.data.u64 = i;
      ::epoll_ctl(ep, EPOLL_CTL_MOD, c.fd, &ev);
      c.want_out = want_out;
    }
  };
  for (std::size_t i = 0; i < conns.size(); ++i) start_message(i, Clock::now());

  std::vector<epoll_event> events(conns.size());
  bool done = false;
  Clock::time_point now = begin;
  while (!done) {
    int n = ::epoll_wait(ep, events.data(), static_cast<int>(events.size()), 100);
    if (n < 0 && errno != EINTR) bench::die("epoll_wait");
    now = Clock::now();
    for (int k = 0; k < n; ++k) {
      std::size_t i = events[static_cast<std::size_t>(k)].data.u64;
      Conn& c = conns[i];
      if ((events[static_cast<std::size_t>(k)].events & EPOLLOUT) != 0 && !send_some(c)) {
        fatal("send failed (the server closed the connection?)");
      }
      if ((events[static_cast<std::size_t>(k)].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) == 0) {
        continue;
      }
      ssize_t r = ::recv(c.fd, c.in.data() + c.received, c.in.size() - c.received, 0);
      if (r == 0) fatal("the server closed a connection");
      if (r < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) continue;
        bench::die("recv");
      }
      c.received += static_cast<std::size_t>(r);
      if (c.received > c.sent) fatal("the server sent more than it was sent");
      if (c.received < c.out.size()) continue;
      if (std::memcmp(c.in.data(), c.out.data(), c.out.size()) != 0) {
        fatal("the echo does not match the message");
      }
      ++total;
      last_progress = now;
      if (c.start >= measure_from) {
        ++measured;
        hist.add(std::chrono::duration_cast<std::chrono::nanoseconds>(now - c.start).count());
      }
      if (now >= end || total >= max_messages) {
        done = true;
        break;
      }
      start_message(i, now);
    }
    if (now >= end) done = true;
    if (now - last_progress > std::chrono::seconds(5)) fatal("no echo for 5 s: the server stalled");
  }
  double measured_s =
      std::chrono::duration<double>(std::min(now, end) - std::min(measure_from, now)).count();
  for (Conn& c : conns) ::close(c.fd);
  ::close(ep);
  if (measured == 0 || measured_s <= 0) fatal("no message completed in the measured window");

  std::printf(
      "impl=loadgen workload=tcp_echo connections=%d size=%d seconds=%.3f messages=%lld "
      "messages_total=%lld msgs_per_s=%.1f p50_us=%.1f p90_us=%.1f p99_us=%.1f max_us=%.1f\n",
      connections, size, measured_s, static_cast<long long>(measured),
      static_cast<long long>(total), static_cast<double>(measured) / measured_s,
      hist.percentile_us(0.50), hist.percentile_us(0.90), hist.percentile_us(0.99), hist.max_us());
  return 0;
}
