// executor::io::Acceptor: a multishot accept with a bounded queue of connections.
//
// Design
// ------
// AcceptorState is the IoOp (kAcceptMultishot) plus a queue of accepted connections (fds) and
// per-connection errors (-errno), the waiting task's waker and the arming state, all under one
// mutex. References: the Acceptor holds one, the backend one while the op is armed. The structure
// follows io_receiver.cpp:
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
#include <executor/io/tcp_listener.hpp>
#include <executor/io/tcp_stream.hpp>

namespace executor::detail {

struct AcceptorState : IoOp {
  FdRef* fd_ref = nullptr;
  Reactor* reactor = nullptr;  // set by the first arm (a task of that runtime)
  std::uint32_t bound = 64;
  std::mutex mu;
  // --- under mu ---
  std::deque<int> queue;  // accepted fds (>= 0) and errors (-errno), in order
  Waker waker;
  bool waiting = false;
  bool armed = false;
  bool destroyed = false;

  ~AcceptorState() {
    for (int v : queue) {
      if (v >= 0) ::close(v);  // never handed out: close, never leak
    }
    if (fd_ref != nullptr) fd_ref_release(fd_ref);
  }
};

namespace {

void acceptor_destroy(IoOp* op) noexcept {
  delete static_cast<AcceptorState*>(op);
}

// Under the mutex. Once stopped at the bound, accepting resumes when half of it is free.
bool acceptor_can_arm(AcceptorState* s) noexcept {
  return !s->armed && !s->destroyed && s->queue.size() * 2 <= s->bound;
}

void acceptor_prepare_arm(AcceptorState* s) noexcept {
  s->armed = true;
  s->routed = false;
  route_io(s->reactor, s);
}

bool acceptor_more(IoOp* op, int res, std::uint32_t) noexcept {
  auto* s = static_cast<AcceptorState*>(op);
  Waker w;
  bool go_on;
  {
    std::lock_guard lock(s->mu);
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
    if (s->waiting) {
      s->waiting = false;
      w = std::move(s->waker);
    }
  }
  w.wake();
  return go_on;
}

void acceptor_complete(IoOp* op, int res) noexcept {
  auto* s = static_cast<AcceptorState*>(op);
  Waker w;
  bool rearm = false;
  {
    std::lock_guard lock(s->mu);
    s->armed = false;
    if (res < 0 && !s->destroyed) {
      try {
        s->queue.push_back(res);  // reported by one accept(); the next one accepts again
      } catch (...) {
      }
    }
    if (s->waiting) {
      if (s->queue.empty() && acceptor_can_arm(s)) {
        acceptor_prepare_arm(s);
        rearm = true;
      } else if (!s->queue.empty()) {
        s->waiting = false;
        w = std::move(s->waker);
      }
    }
  }
  w.wake();
  if (rearm) {
    submit_io(s->reactor, s);  // the backend's reference goes on with it
    return;
  }
  io_op_unref(op);  // the backend's reference
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
  auto* s = new (std::nothrow) AcceptorState;
  if (s == nullptr) return detail::io_error(ENOMEM, kOp, fd_->fd);
  s->opcode = detail::IoOpcode::kAcceptMultishot;
  s->op_flags = SOCK_NONBLOCK | SOCK_CLOEXEC;
  s->bound = options.queue;
  s->more = &detail::acceptor_more;
  s->complete = &detail::acceptor_complete;
  s->destroy = &detail::acceptor_destroy;
  detail::fd_ref_acquire(fd_);
  s->fd_ref = fd_;
  s->fd = fd_->fd;
  return Acceptor(s);  // refs == 1: the acceptor's
}

Acceptor& Acceptor::operator=(Acceptor&& o) noexcept {
  if (this != &o) {
    Acceptor dying(std::exchange(s_, std::exchange(o.s_, nullptr)));
  }
  return *this;
}

Acceptor::~Acceptor() {
  if (s_ == nullptr) return;
  AcceptorState* s = std::exchange(s_, nullptr);
  bool cancel;
  detail::Waker w;
  {
    std::lock_guard lock(s->mu);
    s->destroyed = true;
    cancel = s->armed;
    if (s->waiting) {
      s->waiting = false;
      w = std::move(s->waker);
    }
  }
  w.drop();
  if (cancel) detail::cancel_io(s->reactor, s);
  detail::io_op_unref(s);
}

std::uint32_t Acceptor::queued() const noexcept {
  if (s_ == nullptr) return 0;
  std::lock_guard lock(s_->mu);
  return static_cast<std::uint32_t>(s_->queue.size());
}

// --- AcceptNextOperation ---------------------------------------------------------------------

AcceptNextOperation::~AcceptNextOperation() {
  if (suspended_) withdraw();  // destroyed while suspended: nothing is lost
}

void AcceptNextOperation::Hook::fire(detail::CancelCallbackNode* n) noexcept {
  AcceptNextOperation* self = static_cast<Hook*>(n)->self;
  AcceptorState* s = self->s_;
  detail::Waker w;
  {
    std::lock_guard lock(s->mu);
    self->cancelled_ = true;
    if (s->waiting) {
      s->waiting = false;
      w = std::move(s->waker);
    }
  }
  w.wake();
}

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
    std::lock_guard lock(s->mu);
    if (detail::acceptor_can_arm(s)) {
      detail::acceptor_prepare_arm(s);
      detail::io_op_ref(s);  // the backend's
      arm = true;
    }
  }
  if (arm) detail::submit_io(s->reactor, s);
}

bool AcceptNextOperation::await_ready() {
  AcceptorState* s = s_;
  if (s == nullptr) {
    early_.emplace(absl::FailedPreconditionError("Acceptor::accept on a closed acceptor"));
    return true;
  }
  if (token_.has_value() && token_->is_cancelled()) {
    early_.emplace(detail::io_result_error(-ECANCELED, "accept_multishot", s->fd));
    return true;
  }
  bool ready;
  {
    std::lock_guard lock(s->mu);
    if (s->waiting) {
      early_.emplace(
          absl::FailedPreconditionError("Acceptor::accept: another accept() is waiting"));
      return true;
    }
    ready = take_locked();
  }
  // Taking one may have made room: accept on in the background meanwhile.
  if (ready && s->reactor != nullptr) arm_if_needed();
  return ready;
}

bool AcceptNextOperation::await_suspend(std::coroutine_handle<> h) {
  AcceptorState* s = s_;
  if (s->reactor == nullptr) s->reactor = detail::current_reactor();
  bool has_deadline = deadline_ != std::chrono::steady_clock::time_point{};
  bool arm = false;
  {
    std::lock_guard lock(s->mu);
    if (take_locked()) return false;  // arrived meanwhile
    if (detail::acceptor_can_arm(s)) {
      detail::acceptor_prepare_arm(s);
      detail::io_op_ref(s);  // the backend's
      arm = true;
    }
    if (has_deadline && deadline_ <= std::chrono::steady_clock::now()) {
      early_.emplace(detail::io_result_error(-ETIME, "accept_multishot", s->fd));
    } else {
      detail::Waker w = detail::Waker::current(h);
      if (has_deadline) timer_.waker = w.clone();  // first of the two wakes wins
      s->waker = std::move(w);
      s->waiting = true;
      suspended_ = true;
    }
  }
  if (!suspended_) {
    if (arm) detail::submit_io(s->reactor, s);
    return false;
  }
  // Wakes from here on only mark the task (it is running): touching `this` stays safe.
  if (has_deadline) {
    timer_.deadline = deadline_;
    timer_armed_ = true;
    detail::timer_insert(&timer_);
  }
  if (token_.has_value()) {
    hook_.self = this;
    if (detail::cancel_state_link(token_->state_for_internal_use(), &hook_)) {
      hooked_ = true;
    } else {
      Hook::fire(&hook_);  // cancelled meanwhile
    }
  }
  if (arm) detail::submit_io(s->reactor, s);
  return true;
}

void AcceptNextOperation::withdraw() noexcept {
  suspended_ = false;
  if (timer_armed_) detail::timer_cancel(&timer_);
  timer_armed_ = false;
  // Waits for a callback another thread is running right now.
  if (hooked_) detail::cancel_state_unregister(token_->state_for_internal_use(), &hook_);
  hooked_ = false;
  detail::Waker w;
  std::lock_guard lock(s_->mu);
  if (s_->waiting) {
    s_->waiting = false;
    w = std::move(s_->waker);
  }
}

absl::StatusOr<TcpStream> AcceptNextOperation::await_resume() {
  if (suspended_) {
    withdraw();
    bool got;
    {
      std::lock_guard lock(s_->mu);
      got = take_locked();
    }
    if (got) {
      arm_if_needed();
    } else if (cancelled_) {
      early_.emplace(detail::io_result_error(-ECANCELED, "accept_multishot", s_->fd));
    } else {
      early_.emplace(detail::io_result_error(-ETIME, "accept_multishot", s_->fd));
    }
  }
  if (!has_taken_) return std::move(*early_);
  if (taken_ < 0) return detail::io_result_error(taken_, "accept_multishot", s_->fd);
  detail::FdRef* r = detail::fd_ref_new(taken_);
  if (r == nullptr) return detail::io_error(ENOMEM, "accept_multishot");
  return TcpStream(r);
}

}  // namespace executor::io
