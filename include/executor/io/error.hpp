// How executor::io reports errors.
//
// I/O outcomes are values, never exceptions: an operation yields absl::Status or
// absl::StatusOr<T>. A failed operation's status
//   * has the canonical code of its errno (absl::ErrnoToStatusCode: ECONNREFUSED ->
//     kUnavailable, ENOENT -> kNotFound, EBADF -> kFailedPrecondition, EINVAL ->
//     kInvalidArgument, ...), except EADDRINUSE -> kAlreadyExists,
//   * says what failed: "recv (fd 7): Connection reset by peer [ECONNRESET]",
//   * carries the errno and the operation's name, readable with io::error_info().
// Special outcomes: a per-operation timeout -> kDeadlineExceeded (errno ETIMEDOUT); a cancelled
// operation -> kCancelled (ECANCELED); bad arguments caught before any system call (an empty
// buffer, an address that does not parse) -> kInvalidArgument (EINVAL). End of stream is not an
// error: recv/read yield 0 bytes.
// Programming errors that are not I/O outcomes (no runtime) abort with a message, like the rest
// of the runtime.
//
// Example:
//   absl::StatusOr<std::size_t> n = co_await stream.recv(buf);
//   if (!n.ok()) {
//     if (auto e = io::error_info(n.status()); e && e->error_number == ECONNRESET) { /* ... */ }
//   }
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <absl/status/status.h>

#include <executor/export.hpp>

namespace executor::io {

struct IoError {
  int error_number = 0;   // the errno
  std::string operation;  // "recv", "open", "connect", ...
};

// The errno and operation of a status produced by executor::io; nullopt for other statuses.
EXECUTOR_API std::optional<IoError> error_info(const absl::Status& status);

}  // namespace executor::io

namespace executor::detail {
// A status for errno `err` of operation `op` on `fd` (fd < 0: not shown); `context` (a path,
// an address) is added to the message.
EXECUTOR_API absl::Status io_error(int err, const char* op, int fd = -1,
                                   std::string_view context = {});
// `res` is a backend result (< 0: -errno, -ETIME: the deadline passed, -ECANCELED: cancelled).
EXECUTOR_API absl::Status io_result_error(int res, const char* op, int fd,
                                          std::string_view context = {});
// kInvalidArgument (errno EINVAL) with a message, for arguments rejected before any syscall.
EXECUTOR_API absl::Status io_invalid(const char* op, const char* why);
}  // namespace executor::detail
