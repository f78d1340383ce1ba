// executor::io::UdpSocket and its operations.
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <executor/io/udp_socket.hpp>

namespace executor::io {

UdpSocket& UdpSocket::operator=(UdpSocket&& o) noexcept {
  if (this != &o) {
    if (fd_ != nullptr) detail::fd_ref_release(fd_);
    fd_ = std::exchange(o.fd_, nullptr);
  }
  return *this;
}

UdpSocket::~UdpSocket() {
  if (fd_ != nullptr) detail::fd_ref_release(fd_);
}

absl::StatusOr<UdpSocket> UdpSocket::bind(const SocketAddress& addr) {
  int fd = ::socket(addr.family(), SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return detail::io_error(errno, "socket");
  if (::bind(fd, addr.native(), addr.native_size()) < 0) {
    int err = errno;
    ::close(fd);
    return detail::io_error(err, "bind", -1, addr.to_string());
  }
  detail::FdRef* r = detail::fd_ref_new(fd);
  if (r == nullptr) return detail::io_error(ENOMEM, "bind");
  return UdpSocket(r);
}

absl::Status UdpSocket::connect(const SocketAddress& peer) {
  if (fd_ == nullptr) return detail::io_error(EBADF, "connect");
  if (::connect(fd_->fd, peer.native(), peer.native_size()) < 0) {
    return detail::io_error(errno, "connect", fd_->fd);
  }
  return absl::OkStatus();
}

SendToOperation UdpSocket::send_to(Buffer& buf, const SocketAddress& to) {
  return SendToOperation(fd_, buf, to);
}
RecvFromOperation UdpSocket::recv_from(Buffer& buf) {
  return RecvFromOperation(fd_, buf);
}
TransferOperation UdpSocket::send(Buffer& buf) {
  return TransferOperation(fd_, buf, detail::IoOpcode::kSend, 0, 0, "send");
}
TransferOperation UdpSocket::recv(Buffer& buf) {
  return TransferOperation(fd_, buf, detail::IoOpcode::kRecv, 0, 0, "recv");
}

absl::StatusOr<SocketAddress> UdpSocket::local_address() const {
  if (fd_ == nullptr) return detail::io_error(EBADF, "local_address");
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (::getsockname(fd_->fd, reinterpret_cast<sockaddr*>(&ss), &len) < 0) {
    return detail::io_error(errno, "local_address", fd_->fd);
  }
  return SocketAddress::from_native(reinterpret_cast<sockaddr*>(&ss), len);
}

CloseOperation UdpSocket::close() {
  return CloseOperation(std::exchange(fd_, nullptr), "close");
}

// --- SendToOperation / RecvFromOperation -------------------------------------------------------

std::optional<absl::StatusOr<std::size_t>> SendToOperation::check() {
  if (fd_ == nullptr) return detail::io_error(EBADF, "send_to");
  return std::nullopt;
}

detail::MsgState* SendToOperation::make_state() {
  auto* s = new detail::MsgState;
  s->buf = std::move(*buf_);
  std::memcpy(&s->peer, to_.native(), to_.native_size());
  s->iov.iov_base = s->buf.data();
  s->iov.iov_len = std::min(s->buf.size(), detail::kMaxTransfer);
  s->msg.msg_name = &s->peer;
  s->msg.msg_namelen = to_.native_size();
  s->msg.msg_iov = &s->iov;
  s->msg.msg_iovlen = 1;
  s->opcode = detail::IoOpcode::kSendmsg;
  s->use_fd(fd_);
  s->addr = &s->msg;
  s->op_flags = MSG_NOSIGNAL;
  return s;
}

absl::StatusOr<std::size_t> SendToOperation::finish(detail::MsgState& s, int res) {
  *buf_ = std::move(s.buf);
  if (res < 0) return detail::io_result_error(res, "send_to", s.fd);
  return static_cast<std::size_t>(res);
}

std::optional<absl::StatusOr<Datagram>> RecvFromOperation::check() {
  if (fd_ == nullptr) return detail::io_error(EBADF, "recv_from");
  if (buf_->spare() == 0) {
    return detail::io_invalid("recv_from",
                              "the buffer has no spare room (clear() it or use a larger one)");
  }
  return std::nullopt;
}

detail::MsgState* RecvFromOperation::make_state() {
  auto* s = new detail::MsgState;
  s->buf = std::move(*buf_);
  s->iov.iov_base = s->buf.data() + s->buf.size();
  s->iov.iov_len = std::min(s->buf.spare(), detail::kMaxTransfer);
  s->msg.msg_name = &s->peer;
  s->msg.msg_namelen = sizeof s->peer;
  s->msg.msg_iov = &s->iov;
  s->msg.msg_iovlen = 1;
  s->opcode = detail::IoOpcode::kRecvmsg;
  s->use_fd(fd_);
  s->addr = &s->msg;
  return s;
}

absl::StatusOr<Datagram> RecvFromOperation::finish(detail::MsgState& s, int res) {
  *buf_ = std::move(s.buf);
  if (res < 0) return detail::io_result_error(res, "recv_from", s.fd);
  Datagram d;
  d.size = static_cast<std::size_t>(res);
  d.truncated = (s.msg.msg_flags & MSG_TRUNC) != 0;
  buf_->resize(buf_->size() + d.size);
  absl::StatusOr<SocketAddress> from =
      SocketAddress::from_native(reinterpret_cast<sockaddr*>(&s.peer), s.msg.msg_namelen);
  if (from.ok()) d.from = *from;
  return d;
}

}  // namespace executor::io
