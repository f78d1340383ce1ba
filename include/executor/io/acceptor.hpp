// executor::io::Acceptor: a multishot accept on a TcpListener, with a bounded queue of accepted
// connections.
//
//   absl::StatusOr<io::Acceptor> acc = listener.acceptor();   // queue of 64 by default
//   for (;;) {
//     absl::StatusOr<io::TcpStream> conn = co_await acc->accept();
//     if (!conn.ok()) continue;                               // e.g. EMFILE: keep serving
//     executor::spawn(serve, std::move(*conn)).detach();
//   }
//
// One accept stays armed in the kernel (io_uring: IORING_OP_ACCEPT with IORING_ACCEPT_MULTISHOT;
// epoll: a readiness loop) and queues every connection as it arrives, whether or not a task
// waits in accept(): no operation and no SQE per connection. accept() pops the queue in order.
// Compared with TcpListener::accept(): an accept() that times out or whose coroutine is
// destroyed loses nothing (the connection stays queued for the next call).
//
// Bounded queue: when `queue` connections are waiting the acceptor stops accepting (the kernel
// keeps further connections in the listen backlog) and starts again when half the queue is
// free. With io_uring the kernel accepts what is already in the backlog in one go before it
// stops, so a burst may exceed the bound by up to the listen backlog; with epoll it is exact.
//
// Results of accept():
//   a TcpStream                  the next connection (accept4 with SOCK_NONBLOCK|SOCK_CLOEXEC)
//   kDeadlineExceeded            .timeout(d) / .deadline(t) passed with nothing queued
//   kCancelled                   .cancel_on(token) fired, or the runtime is shutting down
//   kFailedPrecondition          a moved-from Acceptor, or another accept() is waiting
//   other I/O errors             as TcpListener::accept reports them (EMFILE, ...); reported
//                                once, the next accept() accepts again
//
// Cancellation: destroying a coroutine suspended in accept() is safe and loses nothing.
// Destroying the Acceptor cancels the kernel's accept and closes every queued connection (and
// any the kernel accepted before the cancel took effect): nothing leaks.
// Thread safety: one task at a time calls accept() (a second concurrent accept() is
// kFailedPrecondition). Do not mix an Acceptor with TcpListener::accept() on the same listener
// (which one gets which connection is unspecified).
// Memory: one allocation per acceptor; none per connection while the queue stays within its
// bound.
#pragma once

#include <coroutine>
#include <cstdint>
#include <optional>
#include <utility>

#include <absl/status/status.h>
#include <absl/status/statusor.h>

#include <executor/detail/multishot_next.hpp>
#include <executor/export.hpp>

namespace executor::detail {
struct AcceptorState;  // runtime/linux/io_acceptor.cpp
}  // namespace executor::detail

namespace executor::io {

class TcpStream;

struct AcceptorOptions {
  // Connections queued at most before the acceptor pauses: 1..65536.
  std::uint32_t queue = 64;
};

// Acceptor::accept(). Await it once; movable until awaited. Its builders (detail::BoundedAwait):
// `.timeout(d)` (d <= 0: only what is queued), `.deadline(t)`, `.cancel_on(token)`; what they do
// when they are hit is in the header comment.
class EXECUTOR_API AcceptNextOperation
    : public detail::MultishotNext<AcceptNextOperation, detail::AcceptorState> {
 public:
  explicit AcceptNextOperation(detail::AcceptorState* s) noexcept : MultishotNext(s) {}
  AcceptNextOperation(AcceptNextOperation&& o) noexcept : MultishotNext(std::move(o)) {}

  bool await_ready();
  bool await_suspend(std::coroutine_handle<> h);
  absl::StatusOr<TcpStream> await_resume();

 private:
  friend class detail::MultishotNext<AcceptNextOperation, detail::AcceptorState>;
  // What detail::MultishotNext asks of its awaiter (runtime/linux/multishot_op.hpp).
  bool take_locked();  // under the acceptor's lock: a queued connection or error, if any
  void fail(absl::Status st) { early_.emplace(std::move(st)); }
  void took() noexcept;
  bool refuse_locked() noexcept { return false; }
  void woke_empty();
  void arm_if_needed() noexcept;

  int taken_ = 0;  // what take_locked() found: an fd, or -errno
  bool has_taken_ = false;
  std::optional<absl::Status> early_;
};

class EXECUTOR_API Acceptor {
 public:
  Acceptor() noexcept = default;
  Acceptor(Acceptor&& o) noexcept : s_(std::exchange(o.s_, nullptr)) {}
  Acceptor& operator=(Acceptor&& o) noexcept;
  Acceptor(const Acceptor&) = delete;
  Acceptor& operator=(const Acceptor&) = delete;
  ~Acceptor();

  // The next connection (see the header comment). Bound it with `.timeout(d)`.
  [[nodiscard]] AcceptNextOperation accept() noexcept { return AcceptNextOperation(s_); }
  bool is_open() const noexcept { return s_ != nullptr; }
  // Connections queued right now (a snapshot).
  std::uint32_t queued() const noexcept;

 private:
  friend class TcpListener;
  explicit Acceptor(detail::AcceptorState* s) noexcept : s_(s) {}
  detail::AcceptorState* s_ = nullptr;
};

}  // namespace executor::io
