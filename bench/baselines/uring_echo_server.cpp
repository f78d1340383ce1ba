// Raw liburing tcp_echo server, one thread, no runtime: the limit for executor's echo server.
//
//   baseline_uring_echo_server --port=7000 [--host=127.0.0.1]
//
// Multishot accept; per connection one buffer and one operation in flight: recv, then send what
// arrived (looping on short sends), then recv again. The ring uses SINGLE_ISSUER|DEFER_TASKRUN
// (the fastest setup for a single-threaded ring) when the kernel has them. Raises RLIMIT_NOFILE
// to the hard limit (tcp_echo_10k). Runs until killed (the bench driver sends SIGTERM).
#include <liburing.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>

#include <absl/flags/flag.h>
#include <absl/flags/parse.h>

#include "common/net.hpp"

ABSL_FLAG(std::string, host, "127.0.0.1", "listen address (loopback only)");
ABSL_FLAG(int, port, 7000, "listen port");

namespace {

constexpr std::size_t kBufferSize = 4096;
enum Kind : std::uintptr_t { kAccept = 0, kRecv = 1, kSend = 2 };

struct Conn {
  int fd = -1;
  unsigned len = 0;   // bytes of the current message
  unsigned sent = 0;  // bytes of it sent so far
  alignas(64) char buf[kBufferSize];
};

void* tag(Conn* c, Kind k) {
  return reinterpret_cast<void*>(reinterpret_cast<std::uintptr_t>(c) | k);
}

io_uring_sqe* sqe_for(io_uring* ring) {
  io_uring_sqe* sqe = io_uring_get_sqe(ring);
  if (sqe == nullptr) {
    io_uring_submit(ring);
    sqe = io_uring_get_sqe(ring);
    if (sqe == nullptr) {
      std::fprintf(stderr, "echo server: no SQ entry\n");
      std::exit(1);
    }
  }
  return sqe;
}

void arm_accept(io_uring* ring, int listen_fd) {
  io_uring_sqe* sqe = sqe_for(ring);
  io_uring_prep_multishot_accept(sqe, listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
  io_uring_sqe_set_data(sqe, nullptr);
}

void arm_recv(io_uring* ring, Conn* c) {
  io_uring_sqe* sqe = sqe_for(ring);
  io_uring_prep_recv(sqe, c->fd, c->buf, kBufferSize, 0);
  io_uring_sqe_set_data(sqe, tag(c, kRecv));
}

void arm_send(io_uring* ring, Conn* c) {
  io_uring_sqe* sqe = sqe_for(ring);
  io_uring_prep_send(sqe, c->fd, c->buf + c->sent, c->len - c->sent, MSG_NOSIGNAL);
  io_uring_sqe_set_data(sqe, tag(c, kSend));
}

void close_conn(Conn* c) {
  ::close(c->fd);
  delete c;
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  bench::raise_fd_limit();
  int listen_fd = bench::listen_loopback(absl::GetFlag(FLAGS_host), absl::GetFlag(FLAGS_port));

  io_uring ring;
  io_uring_params p{};
  p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_CQSIZE;
  p.cq_entries = 8192;
  int r = io_uring_queue_init_params(2048, &ring, &p);
  if (r == -EINVAL) {
    p = io_uring_params{};
    p.flags = IORING_SETUP_CQSIZE;
    p.cq_entries = 8192;
    r = io_uring_queue_init_params(2048, &ring, &p);
  }
  if (r < 0) {
    std::fprintf(stderr, "io_uring_queue_init: %s\n", std::strerror(-r));
    return 1;
  }
  arm_accept(&ring, listen_fd);
  for (;;) {
    r = io_uring_submit_and_wait(&ring, 1);
    if (r < 0 && r != -EINTR && r != -EAGAIN && r != -EBUSY) {
      std::fprintf(stderr, "io_uring_submit_and_wait: %s\n", std::strerror(-r));
      return 1;
    }
    unsigned head;
    unsigned seen = 0;
    io_uring_cqe* cqe;
    io_uring_for_each_cqe(&ring, head, cqe) {
      ++seen;
      auto ud = reinterpret_cast<std::uintptr_t>(io_uring_cqe_get_data(cqe));
      auto kind = static_cast<Kind>(ud & 3u);
      auto* c = reinterpret_cast<Conn*>(ud & ~std::uintptr_t{3});
      int res = cqe->res;
      switch (kind) {
        case kAccept:
          if (res >= 0) {
            bench::set_nodelay(res);
            Conn* nc = new Conn;
            nc->fd = res;
            arm_recv(&ring, nc);
          }
          if ((cqe->flags & IORING_CQE_F_MORE) == 0) arm_accept(&ring, listen_fd);
          break;
        case kRecv:
          if (res <= 0) {
            close_conn(c);
            break;
          }
          c->len = static_cast<unsigned>(res);
          c->sent = 0;
          arm_send(&ring, c);
          break;
        case kSend:
          if (res < 0) {
            close_conn(c);
            break;
          }
          c->sent += static_cast<unsigned>(res);
          if (c->sent < c->len) {
            arm_send(&ring, c);
          } else {
            arm_recv(&ring, c);
          }
          break;
      }
    }
    io_uring_cq_advance(&ring, seen);
  }
}
