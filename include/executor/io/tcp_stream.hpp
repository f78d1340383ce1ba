// executor::io::TcpStream: a connected TCP socket (IPv4 or IPv6).
//
//   absl::StatusOr<io::TcpStream> s =
//       co_await io::TcpStream::connect(*io::SocketAddress::parse("127.0.0.1:7000"))
//           .timeout(std::chrono::seconds(2));
//   io::Buffer msg = io::Buffer::copy_of("hello");
//   absl::Status sent = co_await s->send_all(msg);
//   io::Buffer reply(4096);
//   absl::StatusOr<std::size_t> n = co_await s->recv(reply);   // 0: the peer closed
//
// Every operation is an io::IoOperation: `.timeout(d)` bounds it and destroying the awaiting
// coroutine cancels it safely (see <executor/io/operation.hpp>).
//
// Ownership: TcpStream owns its socket; destroying it closes the socket without blocking the
// worker (operations still in flight keep it open until they complete).
// Thread safety: one task may receive while another sends on the same stream. Two concurrent
// receives (or sends) on one stream are allowed but their order is unspecified.
// Cancellation: a connect whose awaiting coroutine is destroyed closes its socket. A cancelled
// send may have sent part of the data; a cancelled recv may have consumed data (lost with the
// buffer, as documented in operation.hpp).
// Errors: <executor/io/error.hpp>. connect to a port nobody listens on: kUnavailable
// (ECONNREFUSED). Writing to a peer that has gone: EPIPE/ECONNRESET (never SIGPIPE).
#pragma once

#include <cstddef>
#include <utility>

#include <absl/status/status.h>
#include <absl/status/statusor.h>

#include <executor/detail/fd_ref.hpp>
#include <executor/export.hpp>
#include <executor/io/buffer.hpp>
#include <executor/io/operation.hpp>
#include <executor/io/receiver.hpp>
#include <executor/io/socket_address.hpp>
#include <executor/task.hpp>

namespace executor::io {

class ConnectOperation;

enum class Shutdown { kRead, kWrite, kBoth };

class EXECUTOR_API TcpStream {
 public:
  TcpStream() noexcept = default;
  TcpStream(TcpStream&& o) noexcept : fd_(std::exchange(o.fd_, nullptr)) {}
  TcpStream& operator=(TcpStream&& o) noexcept;
  TcpStream(const TcpStream&) = delete;
  TcpStream& operator=(const TcpStream&) = delete;
  ~TcpStream();

  // Connects to `peer`. Bound it with `.timeout(d)`.
  [[nodiscard]] static ConnectOperation connect(const SocketAddress& peer);
  // Takes ownership of a connected TCP socket (made non-blocking). kInvalidArgument if fd < 0,
  // if fd is not a socket (a file, a pipe: errno ENOTSOCK) or not a stream socket; the caller
  // keeps the descriptor then. kFailedPrecondition (EBADF) if fd is not open.
  static absl::StatusOr<TcpStream> adopt(int fd);

  // One receive into buf's spare room (buf.size() grows; 0 bytes: the peer closed).
  // kInvalidArgument if buf has no spare room.
  [[nodiscard]] TransferOperation recv(Buffer& buf);
  // One send of buf's data; may send less than all (yields the count).
  // kInvalidArgument if buf is empty.
  [[nodiscard]] TransferOperation send(Buffer& buf);
  // Sends all of buf's data (loops on short sends). Await it directly (it refers to `buf`).
  Task<absl::Status> send_all(Buffer& buf);
  // Receives until buf is full; kOutOfRange if the peer closes first (buf keeps what came).
  Task<absl::Status> recv_exact(Buffer& buf);
  // A multishot receiver with its own buffer pool (<executor/io/receiver.hpp>): data is received
  // as it arrives, without an operation per message. kInvalidArgument for bad options,
  // kFailedPrecondition on a closed stream. Do not mix it with recv() on the same stream.
  absl::StatusOr<Receiver> receiver(ReceiverOptions options = {});

  absl::Status shutdown(Shutdown how = Shutdown::kWrite);
  absl::Status set_nodelay(bool on);
  absl::StatusOr<SocketAddress> peer_address() const;
  absl::StatusOr<SocketAddress> local_address() const;
  // Closes now and reports close(2)'s status (see File::close for operations in flight).
  [[nodiscard]] CloseOperation close();

  bool is_open() const noexcept { return fd_ != nullptr; }
  int fd() const noexcept { return fd_ != nullptr ? fd_->fd : -1; }

 private:
  friend class ConnectOperation;
  friend class AcceptOperation;
  friend class AcceptNextOperation;
  explicit TcpStream(detail::FdRef* fd) noexcept : fd_(fd) {}
  detail::FdRef* fd_ = nullptr;
};

}  // namespace executor::io

namespace executor::detail {
struct ConnectState : IoState {
  io::SocketAddress peer;
};
}  // namespace executor::detail

namespace executor::io {

// TcpStream::connect. Yields the connected stream.
class EXECUTOR_API ConnectOperation
    : public IoOperation<ConnectOperation, detail::ConnectState, absl::StatusOr<TcpStream>> {
 public:
  explicit ConnectOperation(const SocketAddress& peer) noexcept : peer_(peer) {}
  ConnectOperation(ConnectOperation&& o) noexcept
      : IoOperation(std::move(o)), peer_(o.peer_), sock_(std::exchange(o.sock_, nullptr)) {}
  ~ConnectOperation();
  std::optional<absl::StatusOr<TcpStream>> check();
  detail::ConnectState* make_state();
  absl::StatusOr<TcpStream> finish(detail::ConnectState& s, int res);

 private:
  SocketAddress peer_;
  detail::FdRef* sock_ = nullptr;  // created by check()
};

}  // namespace executor::io
