// executor::io::Acceptor: a multishot accept with a bounded queue of connections.
//
// Design
// ------
// AcceptorState is the IoOp (kAcceptMultishot) plus a queue of accepted connections (fds) and
// per-connection errors (-errno); the waiting task's waker and the arming state are the
// MultishotOp's (multishot_op.hpp, shared with io_receiver.cpp, as is the awaiter's logic), all
// under one mutex. References: the Acceptor holds one, the backend one while the op is armed.
//
//   arm (submit_io) ──more(fd)──> queue ──accept()──> TcpStream
//         │  queue at its bound: more() returns false, the backend stops the op (> 0)
//         └──complete: > 0 stopped (by the kernel or by us) ─> re-armed when below the bound
//                      -errno ─> queued as an error for one accept(), re-armed by the next
//
// Re-arming happens on the task's thread (accept(): its worker's ring) or, when a task waits
// and the op stopped, in complete() on the thread that reaped it. A connection that arrives
// after the Acceptor was destroyed is closed at once (more() returns false to stop the op);
// the queue's connections are closed when the state is freed. No lock is held while submitting
// or cancelling (lock order: a worker ring's lock, then this mutex).
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <deque>
#include <mutex>
#include <new>

#include <executor/detail/fd_ref.hpp>
#include <executor/detail/io_op.hpp>
#include <executor/detail/task_header.hpp>
#include <executor/io/acceptor.hpp>
#include <executor/io/error.hpp>
#include <executor/io/operation.hpp>
#include <executor/io/tcp_listener.hpp>
#include <executor/io/tcp_stream.hpp>

#include "multishot_op.hpp"

namespace executor::detail {

struct AcceptorState : MultishotOp {
  static constexpr const char* kOpName = "accept_multishot";
  static constexpr const char* kClosedError = "Acceptor::accept on a closed acceptor";
  static constexpr const char* kBusyError = "Acceptor::accept: another accept() is waiting";

  explicit AcceptorState(FdRef* r) noexcept : MultishotOp(&mutex, r) {}
  ~AcceptorState() {
    for (int v : queue) {
      if (v >= 0) ::close(v);  // never handed out: close, never leak
    }
  }
  // Under the mutex. Once stopped at the bound, accepting resumes when half of it is free.
  bool can_arm() const noexcept { return !armed && !destroyed && queue.size() * 2 <= bound; }
  // An accept stays where it was armed: connections are rare next to a receive's chunks, and
  // each one starts a task that may run on any worker anyway.
  bool should_move_locked() const noexcept { return false; }
  void move_now() noexcept {}

  std::uint32_t bound = 64;
  std::mutex mutex;
  // --- under mutex ---
  std::deque<int> queue;  // accepted fds (>= 0) and errors (-errno), in order
};

namespace {

bool acceptor_more(IoOp* op, int res, std::uint32_t) noexcept {
  auto* s = static_cast<AcceptorState*>(op);
  Waker w;
  bool go_on;
  {
    std::lock_guard lock(s->mutex);
    if (s->destroyed) {
      if (res >= 0) ::close(res);
      return false;
    }
    try {
      s->queue.push_back(res);
    } catch (...) {
      if (res >= 0) ::close(res);  // out of memory: refuse this one rather than leak it
    }
    go_on = s->queue.size() < s->bound;
    w = s->take_waker_locked();
  }
  w.wake();
  return go_on;
}

void acceptor_complete(IoOp* op, int res) noexcept {
  auto* s = static_cast<AcceptorState*>(op);
  Waker w;
  bool rearm = false;
  {
    std::lock_guard lock(s->mutex);
    s->armed = false;
    if (res < 0 && !s->destroyed) {
      try {
        s->queue.push_back(res);  // reported by one accept(); the next one accepts again
      } catch (...) {
      }
    }
    if (s->waiting) {
      if (s->queue.empty() && s->can_arm()) {
        s->prepare_arm_locked();
        rearm = true;
      } else if (!s->queue.empty()) {
        w = s->take_waker_locked();
      }
    }
  }
  multishot_completed(s, w, rearm);
}

}  // namespace

}  // namespace executor::detail

namespace executor::io {

using detail::AcceptorState;

absl::StatusOr<Acceptor> TcpListener::acceptor(AcceptorOptions options) {
  constexpr const char* kOp = "acceptor";
  if (fd_ == nullptr) return detail::io_error(EBADF, kOp);
  if (options.queue == 0 || options.queue > 65536) {
    return detail::io_invalid(kOp, "queue must be in 1..65536");
  }
  auto* s = new (std::nothrow) AcceptorState(fd_);
  if (s == nullptr) return detail::io_error(ENOMEM, kOp, fd_->fd);
  s->opcode = detail::IoOpcode::kAcceptMultishot;
  s->op_flags = SOCK_NONBLOCK | SOCK_CLOEXEC;
  s->bound = options.queue;
  s->more = &detail::acceptor_more;
  s->complete = &detail::acceptor_complete;
  s->destroy = &detail::io_state_destroy<AcceptorState>;
  return Acceptor(s);  // refs == 1: the acceptor's
}

Acceptor& Acceptor::operator=(Acceptor&& o) noexcept {
  if (this != &o) {
    Acceptor dying(std::exchange(s_, std::exchange(o.s_, nullptr)));
  }
  return *this;
}

Acceptor::~Acceptor() {
  if (s_ != nullptr) detail::multishot_close(std::exchange(s_, nullptr));
}

std::uint32_t Acceptor::queued() const noexcept {
  if (s_ == nullptr) return 0;
  std::lock_guard lock(s_->mutex);
  return static_cast<std::uint32_t>(s_->queue.size());
}

// --- AcceptNextOperation (the waiting is detail::MultishotNext's) -----------------------------

bool AcceptNextOperation::take_locked() {
  AcceptorState* s = s_;
  if (s->queue.empty()) return false;
  taken_ = s->queue.front();
  s->queue.pop_front();
  has_taken_ = true;
  return true;
}

// From the task, with no lock held: keeps the kernel accepting while there is room.
void AcceptNextOperation::arm_if_needed() noexcept {
  AcceptorState* s = s_;
  bool arm = false;
  {
    std::lock_guard lock(s->mutex);
    if (s->can_arm()) {
      s->prepare_arm_locked();
      detail::io_op_ref(s);  // the backend's
      arm = true;
    }
  }
  if (arm) detail::submit_io(s->reactor, s);
}

// Taking one may have made room: accept on in the background meanwhile (once armed at all).
void AcceptNextOperation::took() noexcept {
  if (s_->reactor != nullptr) arm_if_needed();
}

// Woken with nothing queued: only acceptor_more() does that, when a connection arrived but the
// queue could not grow (out of memory; the connection was closed). The next accept() goes on.
void AcceptNextOperation::woke_empty() {
  early_.emplace(detail::io_result_error(-ENOMEM, AcceptorState::kOpName, s_->fd));
}

bool AcceptNextOperation::await_ready() {
  return ready();
}

bool AcceptNextOperation::await_suspend(std::coroutine_handle<> h) {
  return suspend(h);
}

absl::StatusOr<TcpStream> AcceptNextOperation::await_resume() {
  resume();
  if (!has_taken_) return std::move(*early_);
  if (taken_ < 0) return detail::io_result_error(taken_, AcceptorState::kOpName, s_->fd);
  detail::FdRef* r = detail::fd_ref_new(taken_);
  if (r == nullptr) return detail::io_error(ENOMEM, AcceptorState::kOpName);
  return TcpStream(r);
}

}  // namespace executor::io
