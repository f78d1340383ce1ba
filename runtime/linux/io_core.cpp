// The non-template core of executor::io: operation completion, shared fds, error statuses and
// the operations every descriptor type shares (transfer, close, nop).
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <iterator>
#include <new>
#include <string>

#include <absl/strings/cord.h>
#include <fmt/format.h>

#include <executor/detail/fd_ref.hpp>
#include <executor/io/error.hpp>
#include <executor/io/operation.hpp>

#include "reactor.hpp"

namespace executor::detail {

void io_state_complete(IoOp* op, int res) noexcept {
  auto* s = static_cast<IoState*>(op);
  s->result = res;
  Waker w = std::move(s->waker);
  io_op_unref(op);  // the backend's reference; the release publishes `result`
  w.wake();         // a stale wake (the awaiter was destroyed) is ignored
}

// --- Shared descriptors --------------------------------------------------------------------

namespace {

// The close of the last holder, submitted like any op (a worker's ring, or the completion
// thread's).
struct FdCloseOp : IoOp {};

void fd_close_complete(IoOp* op, int res) noexcept {
  if (res == -ECANCELED) ::close(op->fd);  // never ran (runtime stopping): close here
  io_op_unref(op);
}
void fd_close_destroy(IoOp* op) noexcept {
  delete static_cast<FdCloseOp*>(op);
}

}  // namespace

FdRef* fd_ref_new(int fd) noexcept {
  auto* r = new (std::nothrow) FdRef(fd);
  if (r == nullptr) ::close(fd);
  return r;
}

void fd_ref_release(FdRef* r) noexcept {
  // acq_rel: the last holder sees every other holder's use of the fd before closing it.
  if (r->refs.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
  int fd = r->fd;
  delete r;
  if (context().task != nullptr) {
    // On a worker: never block it in close(2) (a file's last close can flush, e.g. on NFS).
    if (auto* op = new (std::nothrow) FdCloseOp) {
      op->opcode = IoOpcode::kClose;
      op->options = kOpNoCancel;
      op->fd = fd;
      op->complete = &fd_close_complete;
      op->destroy = &fd_close_destroy;
      submit_io(current_reactor(), op);
      return;
    }
  }
  ::close(fd);
}

int fd_ref_take(FdRef* r) noexcept {
  std::uint32_t one = 1;
  // acquire: as in fd_ref_release, the other holders' uses happen before.
  if (!r->refs.compare_exchange_strong(one, 0, std::memory_order_acquire,
                                       std::memory_order_relaxed)) {
    return -1;
  }
  int fd = r->fd;
  delete r;
  return fd;
}

// --- Errors ----------------------------------------------------------------------------------

namespace {
constexpr char kErrnoPayload[] = "type.executor/io.errno";
constexpr char kOpPayload[] = "type.executor/io.operation";

const char* errno_name(int err) noexcept {
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 32))
  const char* n = ::strerrorname_np(err);
  return n != nullptr ? n : "?";
#else
  (void)err;
  return "?";
#endif
}

absl::Status with_payload(absl::Status s, int err, const char* op) {
  s.SetPayload(kErrnoPayload, absl::Cord(std::to_string(err)));
  s.SetPayload(kOpPayload, absl::Cord(op));
  return s;
}
}  // namespace

namespace {
std::string where(const char* op, int fd, std::string_view context) {
  std::string w = op;
  if (!context.empty()) fmt::format_to(std::back_inserter(w), " {}", context);
  if (fd >= 0) fmt::format_to(std::back_inserter(w), " (fd {})", fd);
  return w;
}
}  // namespace

absl::Status io_error(int err, const char* op, int fd, std::string_view context) {
  std::string msg =
      fmt::format("{}: {} [{}]", where(op, fd, context), std::strerror(err), errno_name(err));
  // EADDRINUSE: the address is taken (absl maps it to kUnavailable, which reads as "retry").
  absl::StatusCode code =
      err == EADDRINUSE ? absl::StatusCode::kAlreadyExists : absl::ErrnoToStatusCode(err);
  return with_payload(absl::Status(code, msg), err, op);
}

absl::Status io_result_error(int res, const char* op, int fd, std::string_view context) {
  std::string where = detail::where(op, fd, context);
  if (res == -ETIME) {
    return with_payload(absl::DeadlineExceededError(where + ": the operation timed out"), ETIMEDOUT,
                        op);
  }
  if (res == -ECANCELED) {
    return with_payload(absl::CancelledError(where + ": the operation was cancelled"), ECANCELED,
                        op);
  }
  return io_error(-res, op, fd, context);
}

absl::Status io_invalid(const char* op, const char* why) {
  return with_payload(absl::InvalidArgumentError(fmt::format("{}: {}", op, why)), EINVAL, op);
}

CloseState::~CloseState() {
  if (result == -ECANCELED) ::close(fd);  // the close never ran: it must still happen
}

}  // namespace executor::detail

namespace executor::io {

std::optional<IoError> error_info(const absl::Status& status) {
  auto err = status.GetPayload(detail::kErrnoPayload);
  auto op = status.GetPayload(detail::kOpPayload);
  if (!err.has_value() || !op.has_value()) return std::nullopt;
  IoError e;
  e.error_number = std::atoi(std::string(*err).c_str());
  e.operation = std::string(*op);
  return e;
}

const char* backend_name() noexcept {
  return detail::reactor_backend_name(detail::current_reactor());
}

// --- TransferOperation -------------------------------------------------------------------------

bool TransferOperation::is_read() const noexcept {
  return opcode_ == detail::IoOpcode::kRead || opcode_ == detail::IoOpcode::kRecv;
}

std::optional<absl::StatusOr<std::size_t>> TransferOperation::check() {
  if (fd_ == nullptr) return detail::io_error(EBADF, name_);
  if (positional_ && off_ > static_cast<std::uint64_t>(INT64_MAX)) {
    return detail::io_invalid(name_, "offset above INT64_MAX");
  }
  if (is_read()) {
    if (buf_->spare() == 0) {
      return detail::io_invalid(name_,
                                "the buffer has no spare room (clear() it or use a larger one)");
    }
  } else if (start_ >= buf_->size()) {
    return detail::io_invalid(name_, "the buffer holds no data to write");
  }
  return std::nullopt;
}

detail::TransferState* TransferOperation::make_state() {
  auto* s = new detail::TransferState;
  s->opcode = opcode_;
  s->use_fd(fd_);
  s->op_flags = flags_;
  s->off = off_;
  s->buf = std::move(*buf_);
  if (is_read()) {
    s->addr = s->buf.data() + s->buf.size();
    s->len = static_cast<std::uint32_t>(std::min(s->buf.spare(), detail::kMaxTransfer));
  } else {
    s->addr = s->buf.data() + start_;
    s->len = static_cast<std::uint32_t>(std::min(s->buf.size() - start_, detail::kMaxTransfer));
  }
  return s;
}

absl::StatusOr<std::size_t> TransferOperation::finish(detail::TransferState& s, int res) {
  *buf_ = std::move(s.buf);
  if (res < 0) return detail::io_result_error(res, name_, s.fd);
  if (is_read()) buf_->resize(buf_->size() + static_cast<std::size_t>(res));
  return static_cast<std::size_t>(res);
}

// --- CloseOperation ----------------------------------------------------------------------------

CloseOperation::~CloseOperation() {
  if (fd_ != nullptr) detail::fd_ref_release(fd_);
  if (raw_fd_ >= 0) ::close(raw_fd_);  // taken but never submitted
}

std::optional<absl::Status> CloseOperation::check() {
  if (fd_ == nullptr) return absl::OkStatus();  // closing a closed object
  int fd = detail::fd_ref_take(fd_);
  if (fd < 0) {
    // Operations in flight elsewhere still use it: the last of them closes it.
    detail::fd_ref_release(std::exchange(fd_, nullptr));
    return absl::OkStatus();
  }
  fd_ = nullptr;
  raw_fd_ = fd;
  return std::nullopt;
}

detail::CloseState* CloseOperation::make_state() {
  auto* s = new detail::CloseState;
  s->opcode = detail::IoOpcode::kClose;
  s->options = detail::kOpNoCancel;
  s->fd = std::exchange(raw_fd_, -1);
  return s;
}

absl::Status CloseOperation::finish(detail::CloseState& s, int res) {
  if (res < 0 && res != -ECANCELED) return detail::io_error(-res, name_, s.fd);
  return absl::OkStatus();
}

// --- NopOperation ------------------------------------------------------------------------------

detail::IoState* NopOperation::make_state() {
  auto* s = new detail::IoState;
  s->opcode = detail::IoOpcode::kNop;
  return s;
}

absl::Status NopOperation::finish(detail::IoState&, int res) {
  if (res < 0) return detail::io_result_error(res, "nop", -1);
  return absl::OkStatus();
}

}  // namespace executor::io
