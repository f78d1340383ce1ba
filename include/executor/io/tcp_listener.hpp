// executor::io::TcpListener: a listening TCP socket (IPv4 or IPv6).
//
//   absl::StatusOr<io::TcpListener> l = io::TcpListener::bind(io::SocketAddress::ipv4_loopback(0));
//   std::uint16_t port = l->local_address().port();          // port 0 picked one
//   for (;;) {
//     absl::StatusOr<io::TcpStream> conn = co_await l->accept();
//     if (!conn.ok()) break;
//     executor::spawn(serve, std::move(*conn)).detach();
//   }
//
// bind() is synchronous (socket/bind/listen never block). accept() is an io::IoOperation
// (`.timeout(d)`, cancellation by destroying the awaiting coroutine).
// Cancellation: an accept that completes after its awaiting coroutine was destroyed (or after a
// timeout lost the race) closes the connection it produced: no fd leaks. A runtime shutting
// down with an accept in flight cancels it and does not hang.
// Thread safety: several tasks may accept on one listener at once (each gets a different
// connection).
// Errors: bind: EADDRINUSE -> kAlreadyExists, EACCES -> kPermissionDenied, ...
#pragma once

#include <absl/status/status.h>
#include <absl/status/statusor.h>

#include <executor/detail/fd_ref.hpp>
#include <executor/export.hpp>
#include <executor/io/acceptor.hpp>
#include <executor/io/operation.hpp>
#include <executor/io/socket_address.hpp>
#include <executor/io/tcp_stream.hpp>

namespace executor::io {

struct ListenOptions {
  int backlog = 1024;
  bool reuse_address = true;  // SO_REUSEADDR: rebind while old connections sit in TIME_WAIT
  bool reuse_port = false;    // SO_REUSEPORT: several listeners share the port
  bool v6_only = false;       // IPV6_V6ONLY for an IPv6 address
};

class AcceptOperation;

class EXECUTOR_API TcpListener {
 public:
  TcpListener() noexcept = default;
  TcpListener(TcpListener&& o) noexcept : fd_(std::exchange(o.fd_, nullptr)), local_(o.local_) {}
  TcpListener& operator=(TcpListener&& o) noexcept;
  TcpListener(const TcpListener&) = delete;
  TcpListener& operator=(const TcpListener&) = delete;
  ~TcpListener();

  static absl::StatusOr<TcpListener> bind(const SocketAddress& addr, ListenOptions options = {});

  // Waits for the next connection.
  [[nodiscard]] AcceptOperation accept();
  // A multishot acceptor with a bounded queue (<executor/io/acceptor.hpp>): connections are
  // accepted as they arrive, without an operation per connection. kInvalidArgument for bad
  // options, kFailedPrecondition on a closed listener. Do not mix it with accept().
  absl::StatusOr<Acceptor> acceptor(AcceptorOptions options = {});
  // The bound address (with the port the kernel picked for port 0).
  const SocketAddress& local_address() const noexcept { return local_; }
  [[nodiscard]] CloseOperation close();

  bool is_open() const noexcept { return fd_ != nullptr; }
  int fd() const noexcept { return fd_ != nullptr ? fd_->fd : -1; }

 private:
  TcpListener(detail::FdRef* fd, const SocketAddress& local) noexcept : fd_(fd), local_(local) {}
  detail::FdRef* fd_ = nullptr;
  SocketAddress local_;
};

}  // namespace executor::io

namespace executor::detail {
struct EXECUTOR_API AcceptState : IoState {
  ~AcceptState();
  bool taken = false;  // the connection was handed to a TcpStream
};
}  // namespace executor::detail

namespace executor::io {

// TcpListener::accept. Yields the accepted connection.
class EXECUTOR_API AcceptOperation
    : public IoOperation<AcceptOperation, detail::AcceptState, absl::StatusOr<TcpStream>> {
 public:
  explicit AcceptOperation(detail::FdRef* fd) noexcept : fd_(fd) {}
  AcceptOperation(AcceptOperation&&) noexcept = default;
  std::optional<absl::StatusOr<TcpStream>> check();
  detail::AcceptState* make_state();
  absl::StatusOr<TcpStream> finish(detail::AcceptState& s, int res);

 private:
  detail::FdRef* fd_;
};

}  // namespace executor::io
