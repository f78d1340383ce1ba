// The seam between the completion thread (Reactor: queues, timers, shutdown) and the mechanism
// that performs I/O: io_uring (backend_uring.cpp) or the epoll fallback (backend_epoll.cpp).
//
// Contract: every function except notify() and has_ready() runs on the completion thread.
// A backend calls `op->complete(op, res)` exactly once for every op it accepted in submit(),
// always on the completion thread (the epoll backend's pool threads hand results back to it).
// cancel() is best effort: the op still completes once, with -ECANCELED or its real result.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include <executor/detail/io_op.hpp>

namespace executor::detail {

class Backend {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;

  virtual ~Backend() = default;
  virtual const char* name() const noexcept = 0;

  // Binds the backend to the calling thread, which becomes the completion thread (io_uring
  // SINGLE_ISSUER rings are enabled here). Returns 0 or an errno.
  virtual int attach_thread() noexcept = 0;
  // Takes over an op (the backend's reference is already counted in op->refs).
  virtual void submit(IoOp* op) noexcept = 0;
  // Best-effort cancel of an op previously submitted; the caller holds a reference meanwhile.
  virtual void cancel(IoOp* op) noexcept = 0;
  // Cancels everything in flight (shutdown).
  virtual void cancel_all() noexcept = 0;
  // Flushes submissions, waits until an event, notify() or `deadline` (nullptr: no deadline;
  // a past deadline: do not block), and dispatches completions. Returns how many ops completed.
  virtual std::size_t wait(const TimePoint* deadline) noexcept = 0;
  // Ops accepted by submit() that have not completed yet.
  virtual std::size_t in_flight() const noexcept = 0;

  // Any thread: interrupts wait().
  virtual void notify() noexcept = 0;
  // The eventfd notify() writes (worker rings signal it too), or -1 if there is none.
  virtual int notify_fd() const noexcept { return -1; }
  // Before destruction, with nothing in flight: waits until no other thread is still inside a
  // call that reports to the backend (a pool thread that just handed over a result).
  virtual void quiesce() noexcept {}
  // Before the host is destroyed while ops are still in flight (the backend is then leaked, not
  // destroyed): no other thread touches the host after this returns.
  virtual void orphan() noexcept {}
  // Any thread: true when results are waiting to be dispatched (pool completions).
  virtual bool has_ready() const noexcept { return false; }
};

// Signals the completion thread that a backend-internal event needs it (pool completions).
class BackendHost {
 public:
  virtual void backend_wake() noexcept = 0;

 protected:
  ~BackendHost() = default;
};

// io_uring with `entries` SQ entries (CQ 4x). Returns nullptr and sets `err` (an errno) and
// `why` (a sentence naming cause and remedy) when the ring cannot be set up.
std::unique_ptr<Backend> make_uring_backend(unsigned entries, int& err, std::string& why);
// The epoll fallback (sockets by readiness, files on a blocking pool). Throws
// std::system_error if even epoll/eventfd fail.
std::unique_ptr<Backend> make_epoll_backend(BackendHost& host);

// Runs a file/nop op synchronously on the calling thread (blocking pool, closed reactor).
int run_blocking(IoOp* op) noexcept;

}  // namespace executor::detail
