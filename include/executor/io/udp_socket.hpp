// executor::io::UdpSocket: a UDP socket (IPv4 or IPv6).
//
//   absl::StatusOr<io::UdpSocket> u = io::UdpSocket::bind(io::SocketAddress::ipv4_loopback(0));
//   io::Buffer out = io::Buffer::copy_of("ping");
//   co_await u->send_to(out, peer);
//   io::Buffer in(1500);
//   absl::StatusOr<io::Datagram> d = co_await u->recv_from(in).timeout(std::chrono::seconds(1));
//   // in.size() == d->size, d->from is the sender
//
// bind() and connect() are synchronous (they never block for UDP). The transfers are
// io::IoOperations (`.timeout(d)`, cancellation by destroying the awaiting coroutine).
// A datagram longer than the buffer's spare room is truncated (Datagram::truncated).
// send_to of an empty buffer sends an empty datagram; recv_from needs spare room
// (kInvalidArgument otherwise).
// Thread safety: one task may receive while another sends.
// Errors: <executor/io/error.hpp>; recv on a connected socket whose peer port is closed may
// yield ECONNREFUSED (kUnavailable) from an earlier ICMP error.
#pragma once

#include <sys/socket.h>
#include <sys/uio.h>

#include <cstddef>

#include <absl/status/status.h>
#include <absl/status/statusor.h>

#include <executor/detail/fd_ref.hpp>
#include <executor/export.hpp>
#include <executor/io/buffer.hpp>
#include <executor/io/operation.hpp>
#include <executor/io/socket_address.hpp>

namespace executor::io {

struct Datagram {
  std::size_t size = 0;  // bytes received (appended to the buffer)
  SocketAddress from;
  bool truncated = false;  // the datagram was longer than the buffer's spare room
};

class SendToOperation;
class RecvFromOperation;

class EXECUTOR_API UdpSocket {
 public:
  UdpSocket() noexcept = default;
  UdpSocket(UdpSocket&& o) noexcept : fd_(std::exchange(o.fd_, nullptr)) {}
  UdpSocket& operator=(UdpSocket&& o) noexcept;
  UdpSocket(const UdpSocket&) = delete;
  UdpSocket& operator=(const UdpSocket&) = delete;
  ~UdpSocket();

  // A socket bound to `addr` (port 0: the kernel picks one; see local_address()).
  static absl::StatusOr<UdpSocket> bind(const SocketAddress& addr);
  // Sets the default peer (send/recv then apply to it; datagrams from others are dropped).
  absl::Status connect(const SocketAddress& peer);

  [[nodiscard]] SendToOperation send_to(Buffer& buf, const SocketAddress& to);
  [[nodiscard]] RecvFromOperation recv_from(Buffer& buf);
  // On a connected socket: one datagram of buf's data / into buf's spare room.
  [[nodiscard]] TransferOperation send(Buffer& buf);
  [[nodiscard]] TransferOperation recv(Buffer& buf);

  absl::StatusOr<SocketAddress> local_address() const;
  [[nodiscard]] CloseOperation close();

  bool is_open() const noexcept { return fd_ != nullptr; }
  int fd() const noexcept { return fd_ != nullptr ? fd_->fd : -1; }

 private:
  explicit UdpSocket(detail::FdRef* fd) noexcept : fd_(fd) {}
  detail::FdRef* fd_ = nullptr;
};

}  // namespace executor::io

namespace executor::detail {
struct MsgState : IoState {
  io::Buffer buf;
  iovec iov{};
  msghdr msg{};
  sockaddr_storage peer{};
};
}  // namespace executor::detail

namespace executor::io {

class EXECUTOR_API SendToOperation
    : public IoOperation<SendToOperation, detail::MsgState, absl::StatusOr<std::size_t>> {
 public:
  SendToOperation(detail::FdRef* fd, Buffer& buf, const SocketAddress& to) noexcept
      : fd_(fd), buf_(&buf), to_(to) {}
  SendToOperation(SendToOperation&&) noexcept = default;
  std::optional<absl::StatusOr<std::size_t>> check();
  detail::MsgState* make_state();
  absl::StatusOr<std::size_t> finish(detail::MsgState& s, int res);

 private:
  detail::FdRef* fd_;
  Buffer* buf_;
  SocketAddress to_;
};

class EXECUTOR_API RecvFromOperation
    : public IoOperation<RecvFromOperation, detail::MsgState, absl::StatusOr<Datagram>> {
 public:
  RecvFromOperation(detail::FdRef* fd, Buffer& buf) noexcept : fd_(fd), buf_(&buf) {}
  RecvFromOperation(RecvFromOperation&&) noexcept = default;
  std::optional<absl::StatusOr<Datagram>> check();
  detail::MsgState* make_state();
  absl::StatusOr<Datagram> finish(detail::MsgState& s, int res);

 private:
  detail::FdRef* fd_;
  Buffer* buf_;
};

}  // namespace executor::io
