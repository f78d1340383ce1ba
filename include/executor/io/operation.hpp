// The awaitable every executor::io operation returns, and what all of them promise.
//
//   absl::StatusOr<std::size_t> n = co_await stream.recv(buf);                 // no deadline
//   absl::StatusOr<std::size_t> n = co_await stream.recv(buf).timeout(100ms);  // deadline
//
// Timeout: `.timeout(d)` / `.deadline(t)` bound the operation; when the deadline passes first
// the operation is cancelled in the kernel and yields kDeadlineExceeded (an operation that
// completed anyway yields its real result: nothing that happened is lost). A timed-out
// read leaves the buffer as it was.
//
// Cancellation by token: `.cancel_on(token)`; when the token is cancelled the operation is
// cancelled in the kernel and yields kCancelled (again: unless it completed anyway). If the
// token is already cancelled, the operation is not started.
//
// Cancellation by destruction: destroying the awaiting coroutine while it is suspended
// (executor::timeout, JoinHandle::abort_for_combinator, runtime teardown) is always safe: the
// operation keeps its buffer and its file descriptor until the kernel's final completion arrives,
// asks the kernel to cancel it, and frees them then. What is lost: the data of a read that
// completed in that window, the Buffer's storage (your Buffer object is left empty), and a
// connection or file an accept/open produced (it is closed, never leaked).
//
// Thread safety: an operation is started and awaited by one task. Memory ordering: when the
// co_await returns, everything the kernel wrote into the buffer is visible.
// Memory: one heap allocation per operation (its state, which must be able to outlive the
// awaiting frame); none per byte.
// Errors: see <executor/io/error.hpp>. Outside a runtime's task an operation aborts the process
// (there is no completion thread to run it).
#pragma once

#include <cerrno>
#include <chrono>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <new>
#include <optional>
#include <utility>

#include <absl/status/status.h>
#include <absl/status/statusor.h>

#include <executor/cancellation_token.hpp>
#include <executor/detail/bounded_await.hpp>
#include <executor/detail/fd_ref.hpp>
#include <executor/detail/frame_allocator.hpp>
#include <executor/detail/io_op.hpp>
#include <executor/detail/task_header.hpp>
#include <executor/export.hpp>
#include <executor/io/buffer.hpp>
#include <executor/io/error.hpp>

namespace executor::detail {

// The heap state of one operation: the IoOp the backend sees, the waker of the awaiting task,
// and the backend's result. Holds a reference on the fd it targets until it is freed.
struct IoState : IoOp {
  // From the runtime's frame allocator (per-thread magazines): an op allocated on a worker and
  // freed on another thread costs no malloc/free in the steady state.
  static void* operator new(std::size_t size) {
    void* p = allocate_frame(size);
    if (p == nullptr) throw std::bad_alloc();
    return p;
  }
  static void operator delete(void* p, std::size_t size) noexcept { free_frame(p, size); }

  IoState() noexcept = default;
  IoState(const IoState&) = delete;
  IoState& operator=(const IoState&) = delete;
  ~IoState() {
    if (fd_ref != nullptr) fd_ref_release(fd_ref);
  }
  void use_fd(FdRef* r) noexcept {
    fd_ref_acquire(r);
    fd_ref = r;
    fd = r->fd;
  }
  Waker waker;
  int result = -ECANCELED;  // the backend's result once completed
  FdRef* fd_ref = nullptr;
};

// IoOp::complete of every IoState: stores the result, drops the backend's reference, wakes.
EXECUTOR_API void io_state_complete(IoOp* op, int res) noexcept;

template <class S>
void io_state_destroy(IoOp* op) noexcept {
  delete static_cast<S*>(op);
}

// The registration of an operation with a CancellationToken: cancels the op when it fires.
struct IoCancelHook : CancelCallbackNode {
  IoCancelHook() noexcept : CancelCallbackNode(&fire) {}
  static void fire(CancelCallbackNode* n) noexcept {
    auto* h = static_cast<IoCancelHook*>(n);
    cancel_io(h->reactor, h->op);
  }
  Reactor* reactor = nullptr;
  IoOp* op = nullptr;
};

// Largest transfer in one operation (Linux caps read/write at this anyway).
inline constexpr std::size_t kMaxTransfer = 0x7ffff000;

struct TransferState : IoState {
  io::Buffer buf;
};

// A close that must happen: if it was cancelled after all (shutdown), the destructor closes.
struct EXECUTOR_API CloseState : IoState {
  ~CloseState();
};

}  // namespace executor::detail

namespace executor::io {

// CRTP base of the operation awaitables. D provides:
//   std::optional<R> check();             a result known without the kernel (bad arguments)
//   State* make_state();                  allocates and fills the op (after check)
//   R finish(State& s, int res);          the result, on the awaiting task after completion
// An operation object is movable until it is awaited (executor::timeout moves it into a task).
template <class D, class State, class R>
class IoOperation : public detail::BoundedAwait<D> {
 public:
  IoOperation() noexcept = default;
  IoOperation(IoOperation&& o) noexcept  // only before it is awaited
      : detail::BoundedAwait<D>(std::move(o)) {}
  ~IoOperation() {
    if (state_ != nullptr) {
      unhook();
      // Destroyed while suspended: the op outlives us; ask the kernel to stop it.
      detail::cancel_io(reactor_, state_);
      detail::io_op_unref(state_);
    }
  }

  // The builders `.timeout(d)` / `.deadline(t)` (d <= 0 expires at once) and `.cancel_on(token)`
  // come from detail::BoundedAwait; what they do is in the header comment.

  bool await_ready() {
    if (token_.has_value() && token_->is_cancelled()) {
      early_.emplace(detail::io_result_error(-ECANCELED, "io", -1));
      return true;
    }
    early_ = self().check();
    return early_.has_value();
  }

  void await_suspend(std::coroutine_handle<> h) {
    detail::Reactor* r = detail::current_reactor();
    State* s = self().make_state();  // may throw: then nothing was submitted
    s->complete = &detail::io_state_complete;
    s->destroy = &detail::io_state_destroy<State>;
    if (this->has_deadline()) {
      auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(deadline_.time_since_epoch())
                    .count();
      s->deadline_ns = ns > 0 ? ns : 1;
    }
    // relaxed: the submission's release publishes the whole op.
    s->refs.store(2, std::memory_order_relaxed);  // ours and the backend's
    s->waker = detail::Waker::current(h);
    reactor_ = r;
    state_ = s;
    detail::route_io(r, s);  // before the hook: a cancel from another thread follows the route
    if (token_.has_value()) {
      // Hooked before the submission (afterwards the op may complete and this frame resume on
      // another thread). A cancel that fires first only marks the op: the backend then
      // completes it with -ECANCELED instead of starting it.
      hook_.reactor = r;
      hook_.op = s;
      if (detail::cancel_state_link(token_->state_for_internal_use(), &hook_)) {
        hooked_ = true;
      } else {
        s->cancel_requested.store(true, std::memory_order_relaxed);  // published by the submit
      }
    }
    detail::submit_io(r, s);  // publishes the waker: the last thing we do
  }

  R await_resume() {
    if (state_ == nullptr) return std::move(*early_);
    unhook();  // the hook refers to the op: gone before the op may be freed
    State* s = std::exchange(state_, nullptr);
    struct Unref {
      State* s;
      ~Unref() { detail::io_op_unref(s); }
    } unref{s};
    return self().finish(*s, s->result);
  }

 private:
  using detail::BoundedAwait<D>::deadline_;
  using detail::BoundedAwait<D>::token_;

  D& self() noexcept { return static_cast<D&>(*this); }
  void unhook() noexcept {
    // Waits for a callback another thread is running right now.
    if (hooked_) detail::cancel_state_unregister(token_->state_for_internal_use(), &hook_);
    hooked_ = false;
  }

  detail::IoCancelHook hook_;
  bool hooked_ = false;
  std::optional<R> early_;
  detail::Reactor* reactor_ = nullptr;
  State* state_ = nullptr;
};

// A read or write of one Buffer: File::read_at/write_at, TcpStream::recv/send,
// UdpSocket::recv/send. Reads append into the buffer's spare room; writes send its data.
// Yields the bytes transferred (0 from a read: end of file / peer closed).
class EXECUTOR_API TransferOperation
    : public IoOperation<TransferOperation, detail::TransferState, absl::StatusOr<std::size_t>> {
 public:
  TransferOperation(detail::FdRef* fd, Buffer& buf, detail::IoOpcode opcode, std::uint64_t off,
                    std::uint32_t flags, const char* name, std::size_t start = 0) noexcept
      : fd_(fd),
        buf_(&buf),
        opcode_(opcode),
        flags_(flags),
        off_(off),
        start_(start),
        name_(name) {}
  TransferOperation(TransferOperation&&) noexcept = default;

  std::optional<absl::StatusOr<std::size_t>> check();
  detail::TransferState* make_state();
  absl::StatusOr<std::size_t> finish(detail::TransferState& s, int res);

 private:
  friend class File;
  bool is_read() const noexcept;
  detail::FdRef* fd_;
  Buffer* buf_;
  detail::IoOpcode opcode_;
  std::uint32_t flags_;
  std::uint64_t off_;
  std::size_t start_;
  const char* name_;
  // File::read_at/write_at: `off_` is a file offset, which must not exceed INT64_MAX (the kernel
  // would take -1 as "the current position").
  bool positional_ = false;
};

// Closes a descriptor and reports close(2)'s status (File/TcpStream/UdpSocket::close()).
class EXECUTOR_API CloseOperation
    : public IoOperation<CloseOperation, detail::CloseState, absl::Status> {
 public:
  // Takes over `fd` (the caller's reference); null: already closed (yields OK).
  explicit CloseOperation(detail::FdRef* fd, const char* name) noexcept : fd_(fd), name_(name) {}
  CloseOperation(CloseOperation&& o) noexcept
      : IoOperation(std::move(o)), fd_(std::exchange(o.fd_, nullptr)), name_(o.name_) {}
  ~CloseOperation();

  std::optional<absl::Status> check();
  detail::CloseState* make_state();
  absl::Status finish(detail::CloseState& s, int res);

 private:
  detail::FdRef* fd_;
  int raw_fd_ = -1;
  const char* name_;
};

// An IORING_OP_NOP round trip through the runtime's ring (tests, benchmarks).
class EXECUTOR_API NopOperation : public IoOperation<NopOperation, detail::IoState, absl::Status> {
 public:
  NopOperation() noexcept = default;
  NopOperation(NopOperation&&) noexcept = default;
  std::optional<absl::Status> check() { return std::nullopt; }
  detail::IoState* make_state();
  absl::Status finish(detail::IoState& s, int res);
};

[[nodiscard]] inline NopOperation nop() noexcept {
  return {};
}

// The I/O backend of the running task's runtime: "io_uring" or "epoll".
EXECUTOR_API const char* backend_name() noexcept;

}  // namespace executor::io
