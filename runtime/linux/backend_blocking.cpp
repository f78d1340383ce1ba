// Runs a file/nop IoOp synchronously: the epoll backend's blocking-pool jobs, and ops submitted
// to a runtime that has stopped (see Reactor::complete_closed).
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>

#include "backend.hpp"

namespace executor::detail {

namespace {
int result_of(long r) noexcept {
  return r < 0 ? -errno : static_cast<int>(r);
}
}  // namespace

int run_blocking(IoOp* op) noexcept {
  for (;;) {
    long r;
    switch (op->opcode) {
      case IoOpcode::kNop:
        return 0;
      case IoOpcode::kRead:
        r = op->off == static_cast<std::uint64_t>(-1)
                ? ::read(op->fd, op->addr, op->len)
                : ::pread(op->fd, op->addr, op->len, static_cast<off_t>(op->off));
        break;
      case IoOpcode::kWrite:
        r = op->off == static_cast<std::uint64_t>(-1)
                ? ::write(op->fd, op->addr, op->len)
                : ::pwrite(op->fd, op->addr, op->len, static_cast<off_t>(op->off));
        break;
      case IoOpcode::kReadv:
        r = op->off == static_cast<std::uint64_t>(-1)
                ? ::readv(op->fd, static_cast<const iovec*>(op->addr), static_cast<int>(op->len))
                : ::preadv(op->fd, static_cast<const iovec*>(op->addr), static_cast<int>(op->len),
                           static_cast<off_t>(op->off));
        break;
      case IoOpcode::kWritev:
        r = op->off == static_cast<std::uint64_t>(-1)
                ? ::writev(op->fd, static_cast<const iovec*>(op->addr), static_cast<int>(op->len))
                : ::pwritev(op->fd, static_cast<const iovec*>(op->addr), static_cast<int>(op->len),
                            static_cast<off_t>(op->off));
        break;
      case IoOpcode::kFsync:
        r = (op->op_flags & kFsyncDatasync) != 0 ? ::fdatasync(op->fd) : ::fsync(op->fd);
        break;
      case IoOpcode::kOpenat:
        r = ::openat(op->fd, static_cast<const char*>(op->addr), static_cast<int>(op->op_flags),
                     static_cast<mode_t>(op->off));
        break;
      case IoOpcode::kClose:
        // Never retried: after EINTR the descriptor is closed anyway on Linux.
        return ::close(op->fd) < 0 && errno != EINTR ? -errno : 0;
      case IoOpcode::kStatx:
        r = ::statx(op->fd, static_cast<const char*>(op->addr), static_cast<int>(op->op_flags),
                    op->len, static_cast<struct statx*>(op->addr2));
        break;
      default:
        return -EOPNOTSUPP;  // socket ops never run blocking
    }
    if (r < 0 && errno == EINTR) continue;
    return result_of(r);
  }
}

}  // namespace executor::detail
