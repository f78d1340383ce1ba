// executor::io::File and its operations.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include <executor/io/file.hpp>

namespace executor::detail {
OpenState::~OpenState() {
  if (!taken && result >= 0) ::close(result);  // the open won a race with a cancel: no leak
}
}  // namespace executor::detail

namespace executor::io {

static_assert(sizeof(struct statx) <= sizeof(detail::StatState::statx_buf));

// --- File ------------------------------------------------------------------------------------

File& File::operator=(File&& o) noexcept {
  if (this != &o) {
    if (fd_ != nullptr) detail::fd_ref_release(fd_);
    fd_ = std::exchange(o.fd_, nullptr);
  }
  return *this;
}

File::~File() {
  if (fd_ != nullptr) detail::fd_ref_release(fd_);
}

OpenOperation File::open(std::string path, int flags, mode_t mode) {
  return OpenOperation(std::move(path), flags, mode);
}
OpenOperation File::open_read(std::string path) {
  return open(std::move(path), O_RDONLY);
}
OpenOperation File::create(std::string path, mode_t mode) {
  return open(std::move(path), O_WRONLY | O_CREAT | O_TRUNC, mode);
}

absl::StatusOr<File> File::adopt(int fd) {
  if (fd < 0) return detail::io_invalid("adopt", "negative file descriptor");
  detail::FdRef* r = detail::fd_ref_new(fd);
  if (r == nullptr) return detail::io_error(ENOMEM, "adopt");
  return File(r);
}

TransferOperation File::read_at(Buffer& buf, std::uint64_t offset) {
  TransferOperation op(fd_, buf, detail::IoOpcode::kRead, offset, 0, "read");
  op.positional_ = true;
  return op;
}
TransferOperation File::write_at(Buffer& buf, std::uint64_t offset) {
  TransferOperation op(fd_, buf, detail::IoOpcode::kWrite, offset, 0, "write");
  op.positional_ = true;
  return op;
}
TransferOperation File::read(Buffer& buf) {
  return TransferOperation(fd_, buf, detail::IoOpcode::kRead, static_cast<std::uint64_t>(-1), 0,
                           "read");
}
TransferOperation File::write(Buffer& buf) {
  return TransferOperation(fd_, buf, detail::IoOpcode::kWrite, static_cast<std::uint64_t>(-1), 0,
                           "write");
}
VectorOperation File::readv_at(std::span<Buffer> bufs, std::uint64_t offset) {
  return VectorOperation(fd_, bufs, offset, false);
}
VectorOperation File::writev_at(std::span<Buffer> bufs, std::uint64_t offset) {
  return VectorOperation(fd_, bufs, offset, true);
}
SyncOperation File::sync() {
  return SyncOperation(fd_, false);
}
SyncOperation File::datasync() {
  return SyncOperation(fd_, true);
}
StatOperation File::stat() {
  return StatOperation(fd_);
}
CloseOperation File::close() {
  return CloseOperation(std::exchange(fd_, nullptr), "close");
}

Task<absl::StatusOr<std::size_t>> File::read_all_at(Buffer& buf, std::uint64_t offset) {
  std::size_t total = 0;
  if (buf.spare() == 0) co_return detail::io_invalid("read", "the buffer has no spare room");
  while (buf.spare() > 0) {
    absl::StatusOr<std::size_t> n = co_await read_at(buf, offset + total);
    if (!n.ok()) co_return n.status();
    if (*n == 0) break;  // end of file
    total += *n;
  }
  co_return total;
}

Task<absl::Status> File::write_all_at(Buffer& buf, std::uint64_t offset) {
  std::size_t done = 0;
  while (done < buf.size()) {
    TransferOperation op(fd_, buf, detail::IoOpcode::kWrite, offset + done, 0, "write", done);
    op.positional_ = true;
    absl::StatusOr<std::size_t> n = co_await op;
    if (!n.ok()) co_return n.status();
    if (*n == 0) co_return detail::io_error(EIO, "write", fd());  // no progress: never spin
    done += *n;
  }
  co_return absl::OkStatus();
}

// --- OpenOperation -----------------------------------------------------------------------------

std::optional<absl::StatusOr<File>> OpenOperation::check() {
  if (path_.empty()) return detail::io_invalid("open", "empty path");
  if (path_.find('\0') != std::string::npos) return detail::io_invalid("open", "NUL in path");
  return std::nullopt;
}

detail::OpenState* OpenOperation::make_state() {
  auto* s = new detail::OpenState;
  s->path = std::move(path_);
  s->opcode = detail::IoOpcode::kOpenat;
  s->fd = AT_FDCWD;
  s->addr = s->path.data();
  s->op_flags = static_cast<std::uint32_t>(flags_ | O_CLOEXEC);
  s->off = mode_;
  return s;
}

absl::StatusOr<File> OpenOperation::finish(detail::OpenState& s, int res) {
  if (res < 0) return detail::io_result_error(res, "open", -1, s.path);
  s.taken = true;
  detail::FdRef* r = detail::fd_ref_new(res);
  if (r == nullptr) return detail::io_error(ENOMEM, "open");
  return File(r);
}

// --- VectorOperation ---------------------------------------------------------------------------

std::optional<absl::StatusOr<std::size_t>> VectorOperation::check() {
  const char* name = write_ ? "writev" : "readv";
  if (fd_ == nullptr) return detail::io_error(EBADF, name);
  if (off_ > static_cast<std::uint64_t>(INT64_MAX)) {
    return detail::io_invalid(name, "offset above INT64_MAX");
  }
  if (bufs_.empty() || bufs_.size() > IOV_MAX) {
    return detail::io_invalid(name, "needs 1..IOV_MAX buffers");
  }
  std::size_t total = 0;
  for (const Buffer& b : bufs_) total += write_ ? b.size() : b.spare();
  if (total == 0) return detail::io_invalid(name, "the buffers have no room/data");
  return std::nullopt;
}

detail::VectorState* VectorOperation::make_state() {
  auto* s = new detail::VectorState;
  s->bufs.reserve(bufs_.size());
  s->iov.reserve(bufs_.size());
  for (Buffer& b : bufs_) s->bufs.push_back(std::move(b));
  for (Buffer& b : s->bufs) {
    if (write_) {
      s->iov.push_back(iovec{b.data(), b.size()});
    } else {
      s->iov.push_back(iovec{b.data() + b.size(), b.spare()});
    }
  }
  s->opcode = write_ ? detail::IoOpcode::kWritev : detail::IoOpcode::kReadv;
  s->use_fd(fd_);
  s->addr = s->iov.data();
  s->len = static_cast<std::uint32_t>(s->iov.size());
  s->off = off_;
  return s;
}

absl::StatusOr<std::size_t> VectorOperation::finish(detail::VectorState& s, int res) {
  for (std::size_t i = 0; i < bufs_.size(); ++i) bufs_[i] = std::move(s.bufs[i]);
  if (res < 0) return detail::io_result_error(res, write_ ? "writev" : "readv", s.fd);
  if (!write_) {
    std::size_t left = static_cast<std::size_t>(res);
    for (Buffer& b : bufs_) {
      std::size_t n = std::min(left, b.spare());
      b.resize(b.size() + n);
      left -= n;
    }
  }
  return static_cast<std::size_t>(res);
}

// --- SyncOperation / StatOperation ---------------------------------------------------------------

std::optional<absl::Status> SyncOperation::check() {
  if (fd_ == nullptr) return detail::io_error(EBADF, data_only_ ? "fdatasync" : "fsync");
  return std::nullopt;
}

detail::IoState* SyncOperation::make_state() {
  auto* s = new detail::IoState;
  s->opcode = detail::IoOpcode::kFsync;
  s->use_fd(fd_);
  s->op_flags = data_only_ ? detail::kFsyncDatasync : 0;
  return s;
}

absl::Status SyncOperation::finish(detail::IoState& s, int res) {
  if (res < 0) return detail::io_result_error(res, data_only_ ? "fdatasync" : "fsync", s.fd);
  return absl::OkStatus();
}

std::optional<absl::StatusOr<FileStat>> StatOperation::check() {
  if (fd_ == nullptr) return detail::io_error(EBADF, "stat");
  return std::nullopt;
}

detail::StatState* StatOperation::make_state() {
  auto* s = new detail::StatState;
  static const char kEmpty[] = "";
  s->opcode = detail::IoOpcode::kStatx;
  s->use_fd(fd_);
  s->addr = const_cast<char*>(kEmpty);
  s->op_flags = AT_EMPTY_PATH;
  s->len = STATX_BASIC_STATS;
  s->addr2 = s->statx_buf;
  return s;
}

absl::StatusOr<FileStat> StatOperation::finish(detail::StatState& s, int res) {
  if (res < 0) return detail::io_result_error(res, "stat", s.fd);
  struct statx stx;
  std::memcpy(&stx, s.statx_buf, sizeof stx);
  FileStat st;
  st.size = stx.stx_size;
  st.mode = stx.stx_mode;
  st.inode = stx.stx_ino;
  st.links = stx.stx_nlink;
  st.block_size = stx.stx_blksize;
  st.mtime_ns = stx.stx_mtime.tv_sec * 1'000'000'000LL + stx.stx_mtime.tv_nsec;
  return st;
}

// --- Whole-file helpers ------------------------------------------------------------------------

Task<absl::StatusOr<Buffer>> read_file(std::string path, std::size_t max_size) {
  absl::StatusOr<File> f = co_await File::open_read(path);
  if (!f.ok()) co_return f.status();
  auto too_large = [&] {
    return detail::io_error(EFBIG, "read_file", -1,
                            fmt::format("{}: more than the limit of {} bytes", path, max_size));
  };
  absl::StatusOr<FileStat> st = co_await f->stat();
  if (!st.ok()) co_return st.status();
  if (st->size > max_size) co_return too_large();
  // One byte more than the size, so that a full buffer means "the file grew".
  Buffer buf(static_cast<std::size_t>(st->size) + 1);
  for (;;) {
    absl::StatusOr<std::size_t> n = co_await f->read_all_at(buf, buf.size());
    if (!n.ok()) co_return n.status();
    if (buf.spare() > 0) break;  // end of file reached
    if (buf.size() > max_size) co_return too_large();
    Buffer bigger(std::min(buf.capacity() * 2, max_size < SIZE_MAX ? max_size + 1 : SIZE_MAX));
    std::memcpy(bigger.data(), buf.data(), buf.size());
    bigger.resize(buf.size());
    buf = std::move(bigger);
  }
  absl::Status closed = co_await f->close();
  if (!closed.ok()) co_return closed;
  co_return buf;
}

Task<absl::Status> write_file(std::string path, Buffer& data) {
  absl::StatusOr<File> f = co_await File::create(std::move(path));
  if (!f.ok()) co_return f.status();
  absl::Status s = co_await f->write_all_at(data, 0);
  if (!s.ok()) co_return s;
  co_return co_await f->close();
}

}  // namespace executor::io
