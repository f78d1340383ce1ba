// executor::io::TcpStream, TcpListener and their operations.
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include <executor/io/tcp_listener.hpp>
#include <executor/io/tcp_stream.hpp>

namespace executor::detail {
AcceptState::~AcceptState() {
  if (!taken && result >= 0) ::close(result);  // accepted after the cancel: close, never leak
}
}  // namespace executor::detail

namespace executor::io {

namespace {

absl::StatusOr<SocketAddress> sock_name(int fd, bool peer, const char* op) {
  if (fd < 0) return detail::io_error(EBADF, op);
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  int r = peer ? ::getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len)
               : ::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
  if (r < 0) return detail::io_error(errno, op, fd);
  return SocketAddress::from_native(reinterpret_cast<sockaddr*>(&ss), len);
}

absl::Status make_nonblocking(int fd, const char* op) {
  int fl = ::fcntl(fd, F_GETFL);
  if (fl < 0 || ::fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) return detail::io_error(errno, op, fd);
  return absl::OkStatus();
}

}  // namespace

// --- TcpStream -------------------------------------------------------------------------------

TcpStream& TcpStream::operator=(TcpStream&& o) noexcept {
  if (this != &o) {
    if (fd_ != nullptr) detail::fd_ref_release(fd_);
    fd_ = std::exchange(o.fd_, nullptr);
  }
  return *this;
}

TcpStream::~TcpStream() {
  if (fd_ != nullptr) detail::fd_ref_release(fd_);
}

ConnectOperation TcpStream::connect(const SocketAddress& peer) {
  return ConnectOperation(peer);
}

absl::StatusOr<TcpStream> TcpStream::adopt(int fd) {
  if (fd < 0) return detail::io_invalid("adopt", "negative file descriptor");
  int type = 0;
  socklen_t len = sizeof type;
  if (::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0) {
    return detail::io_error(errno, "adopt", fd);  // ENOTSOCK (a file, a pipe), EBADF
  }
  if (type != SOCK_STREAM) return detail::io_invalid("adopt", "not a stream socket");
  if (absl::Status s = make_nonblocking(fd, "adopt"); !s.ok()) return s;
  detail::FdRef* r = detail::fd_ref_new(fd);
  if (r == nullptr) return detail::io_error(ENOMEM, "adopt");
  return TcpStream(r);
}

TransferOperation TcpStream::recv(Buffer& buf) {
  return TransferOperation(fd_, buf, detail::IoOpcode::kRecv, 0, 0, "recv");
}

TransferOperation TcpStream::send(Buffer& buf) {
  return TransferOperation(fd_, buf, detail::IoOpcode::kSend, 0, MSG_NOSIGNAL, "send");
}

Task<absl::Status> TcpStream::send_all(Buffer& buf) {
  std::size_t done = 0;
  while (done < buf.size()) {
    absl::StatusOr<std::size_t> n = co_await TransferOperation(fd_, buf, detail::IoOpcode::kSend, 0,
                                                               MSG_NOSIGNAL, "send", done);
    if (!n.ok()) co_return n.status();
    if (*n == 0) co_return detail::io_error(EPIPE, "send", fd());
    done += *n;
  }
  co_return absl::OkStatus();
}

Task<absl::Status> TcpStream::recv_exact(Buffer& buf) {
  while (buf.spare() > 0) {
    absl::StatusOr<std::size_t> n = co_await recv(buf);
    if (!n.ok()) co_return n.status();
    if (*n == 0) {
      co_return absl::OutOfRangeError(
          "recv_exact: the peer closed the connection before the buffer was full");
    }
  }
  co_return absl::OkStatus();
}

absl::Status TcpStream::shutdown(Shutdown how) {
  if (fd_ == nullptr) return detail::io_error(EBADF, "shutdown");
  int h = how == Shutdown::kRead ? SHUT_RD : how == Shutdown::kWrite ? SHUT_WR : SHUT_RDWR;
  if (::shutdown(fd_->fd, h) < 0) return detail::io_error(errno, "shutdown", fd_->fd);
  return absl::OkStatus();
}

absl::Status TcpStream::set_nodelay(bool on) {
  if (fd_ == nullptr) return detail::io_error(EBADF, "set_nodelay");
  int v = on ? 1 : 0;
  if (::setsockopt(fd_->fd, IPPROTO_TCP, TCP_NODELAY, &v, sizeof v) < 0) {
    return detail::io_error(errno, "set_nodelay", fd_->fd);
  }
  return absl::OkStatus();
}

absl::StatusOr<SocketAddress> TcpStream::peer_address() const {
  return sock_name(fd(), true, "peer_address");
}
absl::StatusOr<SocketAddress> TcpStream::local_address() const {
  return sock_name(fd(), false, "local_address");
}

CloseOperation TcpStream::close() {
  return CloseOperation(std::exchange(fd_, nullptr), "close");
}

// --- ConnectOperation --------------------------------------------------------------------------

ConnectOperation::~ConnectOperation() {
  if (sock_ != nullptr) detail::fd_ref_release(sock_);
}

std::optional<absl::StatusOr<TcpStream>> ConnectOperation::check() {
  int fd = ::socket(peer_.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return detail::io_error(errno, "connect");
  sock_ = detail::fd_ref_new(fd);
  if (sock_ == nullptr) return detail::io_error(ENOMEM, "connect");
  return std::nullopt;
}

detail::ConnectState* ConnectOperation::make_state() {
  auto* s = new detail::ConnectState;
  s->peer = peer_;
  s->opcode = detail::IoOpcode::kConnect;
  s->use_fd(sock_);
  s->addr = const_cast<sockaddr*>(s->peer.native());
  s->len = s->peer.native_size();
  return s;
}

absl::StatusOr<TcpStream> ConnectOperation::finish(detail::ConnectState& s, int res) {
  if (res < 0) return detail::io_result_error(res, "connect", -1, s.peer.to_string());
  return TcpStream(std::exchange(sock_, nullptr));
}

// --- TcpListener -------------------------------------------------------------------------------

TcpListener& TcpListener::operator=(TcpListener&& o) noexcept {
  if (this != &o) {
    if (fd_ != nullptr) detail::fd_ref_release(fd_);
    fd_ = std::exchange(o.fd_, nullptr);
    local_ = o.local_;
  }
  return *this;
}

TcpListener::~TcpListener() {
  if (fd_ != nullptr) detail::fd_ref_release(fd_);
}

absl::StatusOr<TcpListener> TcpListener::bind(const SocketAddress& addr, ListenOptions options) {
  if (options.backlog <= 0) return detail::io_invalid("listen", "backlog must be positive");
  int fd = ::socket(addr.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return detail::io_error(errno, "socket");
  auto fail = [fd](const char* op) {
    int err = errno;
    ::close(fd);
    return detail::io_error(err, op);
  };
  int one = 1;
  if (options.reuse_address && ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0) {
    return fail("setsockopt(SO_REUSEADDR)");
  }
  if (options.reuse_port && ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0) {
    return fail("setsockopt(SO_REUSEPORT)");
  }
  if (addr.is_ipv6()) {
    int v6only = options.v6_only ? 1 : 0;
    if (::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof v6only) < 0) {
      return fail("setsockopt(IPV6_V6ONLY)");
    }
  }
  if (::bind(fd, addr.native(), addr.native_size()) < 0) {
    int err = errno;
    ::close(fd);
    return detail::io_error(err, "bind", -1, addr.to_string());
  }
  if (::listen(fd, options.backlog) < 0) return fail("listen");
  absl::StatusOr<SocketAddress> local = sock_name(fd, false, "getsockname");
  if (!local.ok()) {
    ::close(fd);
    return local.status();
  }
  detail::FdRef* r = detail::fd_ref_new(fd);
  if (r == nullptr) return detail::io_error(ENOMEM, "bind");
  return TcpListener(r, *local);
}

AcceptOperation TcpListener::accept() {
  return AcceptOperation(fd_);
}

CloseOperation TcpListener::close() {
  return CloseOperation(std::exchange(fd_, nullptr), "close");
}

// --- AcceptOperation ---------------------------------------------------------------------------

std::optional<absl::StatusOr<TcpStream>> AcceptOperation::check() {
  if (fd_ == nullptr) return detail::io_error(EBADF, "accept");
  return std::nullopt;
}

detail::AcceptState* AcceptOperation::make_state() {
  auto* s = new detail::AcceptState;
  s->opcode = detail::IoOpcode::kAccept;
  s->use_fd(fd_);
  s->op_flags = SOCK_NONBLOCK | SOCK_CLOEXEC;
  return s;
}

absl::StatusOr<TcpStream> AcceptOperation::finish(detail::AcceptState& s, int res) {
  if (res < 0) return detail::io_result_error(res, "accept", s.fd);
  s.taken = true;
  detail::FdRef* r = detail::fd_ref_new(res);
  if (r == nullptr) return detail::io_error(ENOMEM, "accept");
  return TcpStream(r);
}

}  // namespace executor::io
