// executor::io::File: a file opened for asynchronous positional I/O.
//
//   absl::StatusOr<io::File> f = co_await io::File::open("data.bin", O_RDONLY);
//   io::Buffer buf(64 * 1024);
//   absl::StatusOr<std::size_t> n = co_await f->read_at(buf, 0);    // one read(2)-like op
//   absl::StatusOr<std::size_t> all = co_await f->read_all_at(buf, 0);  // loops on short reads
//   absl::Status s = co_await f->close();
//
// Every operation is an io::IoOperation: `.timeout(d)` bounds it, destroying the awaiting
// coroutine cancels it safely (see <executor/io/operation.hpp>). On io_uring, file ops run in
// the kernel (page-cache hits complete inline, misses on io_uring's workers); on the epoll
// fallback they run on a small blocking thread pool, except read()/write() on pipes, FIFOs and
// eventfds, which wait by readiness there as sockets do. Either way no worker thread blocks.
//
// Ownership: File owns its descriptor. Destroying a File closes it without blocking the worker
// (the close is handed to the completion thread); operations still in flight keep the
// descriptor open until they complete. close() reports close(2)'s status.
// Thread safety: a File may be used by several tasks at once (operations are independent
// positional reads/writes); moving or destroying it must not race with starting operations.
// Cancellation: an open that completes after its awaiting coroutine was destroyed closes the
// descriptor it produced (nothing leaks). A timed-out or cancelled write may have written part
// of the data (as with any interrupted write).
#pragma once

#include <sys/types.h>
#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include <absl/status/status.h>
#include <absl/status/statusor.h>

#include <executor/detail/fd_ref.hpp>
#include <executor/export.hpp>
#include <executor/io/buffer.hpp>
#include <executor/io/operation.hpp>
#include <executor/task.hpp>

namespace executor::io {

class OpenOperation;
class VectorOperation;
class SyncOperation;
class StatOperation;

class EXECUTOR_API File {
 public:
  File() noexcept = default;
  File(File&& o) noexcept : fd_(std::exchange(o.fd_, nullptr)) {}
  File& operator=(File&& o) noexcept;
  File(const File&) = delete;
  File& operator=(const File&) = delete;
  ~File();

  // open(2) with `flags` (O_RDONLY, O_WRONLY|O_CREAT|O_TRUNC, ...; O_CLOEXEC is always added)
  // and `mode` for created files. Errors: the open(2) errno (kNotFound for ENOENT, ...);
  // kInvalidArgument for an empty path or one containing a NUL byte.
  [[nodiscard]] static OpenOperation open(std::string path, int flags, mode_t mode = 0644);
  // O_RDONLY.
  [[nodiscard]] static OpenOperation open_read(std::string path);
  // O_WRONLY | O_CREAT | O_TRUNC.
  [[nodiscard]] static OpenOperation create(std::string path, mode_t mode = 0644);
  // Takes ownership of an open descriptor (kInvalidArgument if fd < 0).
  static absl::StatusOr<File> adopt(int fd);

  // One read at `offset` into buf's spare room (buf.size() grows by the bytes read; 0: end of
  // file). kInvalidArgument if buf has no spare room, or for an offset above INT64_MAX (for
  // every positional operation here: *_at, readv_at, writev_at, read_all_at, write_all_at).
  [[nodiscard]] TransferOperation read_at(Buffer& buf, std::uint64_t offset);
  // One write of buf's data at `offset`; may write less (yields the count).
  [[nodiscard]] TransferOperation write_at(Buffer& buf, std::uint64_t offset);
  // At the file's current position (pipes, FIFOs, character devices, eventfd/signalfd): one
  // read into buf's spare room / one write of buf's data, advancing the position.
  [[nodiscard]] TransferOperation read(Buffer& buf);
  [[nodiscard]] TransferOperation write(Buffer& buf);
  // Scatter/gather: fills the buffers' spare room in order / writes their data in order.
  [[nodiscard]] VectorOperation readv_at(std::span<Buffer> bufs, std::uint64_t offset);
  [[nodiscard]] VectorOperation writev_at(std::span<Buffer> bufs, std::uint64_t offset);
  // Reads until buf is full or the file ends (loops on short reads). Yields the bytes read.
  // Await it directly (it refers to `buf`).
  Task<absl::StatusOr<std::size_t>> read_all_at(Buffer& buf, std::uint64_t offset);
  // Writes all of buf's data (loops on short writes).
  Task<absl::Status> write_all_at(Buffer& buf, std::uint64_t offset);
  [[nodiscard]] SyncOperation sync();      // fsync
  [[nodiscard]] SyncOperation datasync();  // fdatasync
  [[nodiscard]] StatOperation stat();
  // Closes now and reports close(2)'s status (operations still in flight on this file in other
  // tasks keep it open until they finish; close then yields OK at once). The File is closed
  // afterwards either way; closing a closed File yields OK.
  [[nodiscard]] CloseOperation close();

  bool is_open() const noexcept { return fd_ != nullptr; }
  int fd() const noexcept { return fd_ != nullptr ? fd_->fd : -1; }

 private:
  friend class OpenOperation;
  explicit File(detail::FdRef* fd) noexcept : fd_(fd) {}
  detail::FdRef* fd_ = nullptr;
};

struct FileStat {
  std::uint64_t size = 0;  // bytes
  std::uint32_t mode = 0;  // type and permission bits (st_mode)
  std::uint64_t inode = 0;
  std::uint32_t links = 0;
  std::uint32_t block_size = 0;  // preferred I/O size
  std::int64_t mtime_ns = 0;     // last modification, ns since the Unix epoch
};

}  // namespace executor::io

namespace executor::detail {
struct EXECUTOR_API OpenState : IoState {
  ~OpenState();
  std::string path;
  bool taken = false;  // the fd was handed to a File
};
struct VectorState : IoState {
  std::vector<io::Buffer> bufs;
  std::vector<iovec> iov;
};
struct StatState : IoState {
  alignas(8) unsigned char statx_buf[256];  // a struct statx
};
}  // namespace executor::detail

namespace executor::io {

// File::open. Yields the File or the open(2) error.
class EXECUTOR_API OpenOperation
    : public IoOperation<OpenOperation, detail::OpenState, absl::StatusOr<File>> {
 public:
  OpenOperation(std::string path, int flags, mode_t mode) noexcept
      : path_(std::move(path)), flags_(flags), mode_(mode) {}
  OpenOperation(OpenOperation&&) noexcept = default;
  std::optional<absl::StatusOr<File>> check();
  detail::OpenState* make_state();
  absl::StatusOr<File> finish(detail::OpenState& s, int res);

 private:
  std::string path_;
  int flags_;
  mode_t mode_;
};

// readv_at / writev_at: several buffers in one operation. Yields the bytes transferred.
class EXECUTOR_API VectorOperation
    : public IoOperation<VectorOperation, detail::VectorState, absl::StatusOr<std::size_t>> {
 public:
  VectorOperation(detail::FdRef* fd, std::span<Buffer> bufs, std::uint64_t off, bool write) noexcept
      : fd_(fd), bufs_(bufs), off_(off), write_(write) {}
  VectorOperation(VectorOperation&&) noexcept = default;
  std::optional<absl::StatusOr<std::size_t>> check();
  detail::VectorState* make_state();
  absl::StatusOr<std::size_t> finish(detail::VectorState& s, int res);

 private:
  detail::FdRef* fd_;
  std::span<Buffer> bufs_;
  std::uint64_t off_;
  bool write_;
};

// sync / datasync.
class EXECUTOR_API SyncOperation
    : public IoOperation<SyncOperation, detail::IoState, absl::Status> {
 public:
  SyncOperation(detail::FdRef* fd, bool data_only) noexcept : fd_(fd), data_only_(data_only) {}
  SyncOperation(SyncOperation&&) noexcept = default;
  std::optional<absl::Status> check();
  detail::IoState* make_state();
  absl::Status finish(detail::IoState& s, int res);

 private:
  detail::FdRef* fd_;
  bool data_only_;
};

// stat (statx on the open descriptor).
class EXECUTOR_API StatOperation
    : public IoOperation<StatOperation, detail::StatState, absl::StatusOr<FileStat>> {
 public:
  explicit StatOperation(detail::FdRef* fd) noexcept : fd_(fd) {}
  StatOperation(StatOperation&&) noexcept = default;
  std::optional<absl::StatusOr<FileStat>> check();
  detail::StatState* make_state();
  absl::StatusOr<FileStat> finish(detail::StatState& s, int res);

 private:
  detail::FdRef* fd_;
};

// read_file's default size limit: 256 MiB.
inline constexpr std::size_t kReadFileDefaultMax = std::size_t{256} << 20;

// Reads a whole file into a new buffer (sized by stat; grows if the file grows meanwhile).
// Errors: the open/stat/read errors; kOutOfRange (errno EFBIG) when the file holds more than
// `max_size` bytes (checked before reading for a regular file, while reading for /dev/zero, a
// pipe or a growing file): at most max_size + 1 bytes are ever buffered.
EXECUTOR_API Task<absl::StatusOr<Buffer>> read_file(std::string path,
                                                    std::size_t max_size = kReadFileDefaultMax);
// Creates/truncates `path` and writes `data` to it (then closes it, reporting close's status).
EXECUTOR_API Task<absl::Status> write_file(std::string path, Buffer& data);

}  // namespace executor::io
