// executor::io::Receiver: a multishot receive over a pool of provided buffers.
//
// Design
// ------
// ReceiverState is the IoOp (kRecvMultishot) plus everything around it: the buffer pool
// (provided_buffers.hpp), the queue of received chunks, the waiting task's waker and the op's
// outcome. One mutex (the pool's) guards all of it. References: the Receiver holds one, the
// backend one while the op is armed, every Chunk one; the last frees the state, its buffers and
// its fd reference.
//
//   arm (submit_io) ──more(id, n)──> queue ──next()──> Chunk ──release──> buffer back to the pool
//         │                                                      (into the kernel's ring if armed)
//         └──complete: 0 / error ─> final outcome (after the queue drains)
//                      > 0 (kernel stopped it) / -ENOBUFS ─> not armed; re-armed by whoever needs
//                      it next: complete() itself if a task waits, else next() (or a release
//                      while a task waits), provided a buffer is free.
//
// Re-arming picks the ring again (route_io from the re-arming thread): its buffer ring was
// unregistered at the final CQE, so the op may move to the worker that runs the task now. A
// re-arm from complete() or a Chunk release happens on whatever thread runs it (a worker: its
// own ring; the completion thread or a plain thread: the completion thread's ring). Every
// routing decision is made under the mutex, so the Receiver's destructor (the only canceller)
// reads a settled op->ring.
//
// Migration: the receive stays on the ring it was armed on while the task may be stolen by
// another worker (io_uring runs its receive work in the thread that submitted it). Moving it
// (cancel, then re-arm from the task) was built and measured, and made tcp_echo slower: the
// cancel's final CQE is often reaped by the completion thread, whose re-arm then puts the receive
// on the completion thread's ring for good (see docs/architecture.md, Multishot operations).
//
// Wakes: more() wakes the waiting task for every chunk; complete() for a final outcome, or when
// the op stopped and no buffer is free (the task then gets kResourceExhausted). Wakers are taken
// under the mutex and woken after it is released; more() runs under a ring's lock (it may not
// submit), so its wake happens there, which only queues the task.
#include <sys/socket.h>

#include <bit>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <new>

#include <liburing.h>

#include <executor/detail/fd_ref.hpp>
#include <executor/detail/io_op.hpp>
#include <executor/detail/task_header.hpp>
#include <executor/io/error.hpp>
#include <executor/io/receiver.hpp>
#include <executor/io/tcp_stream.hpp>

#include "provided_buffers.hpp"

namespace executor::detail {

void provided_buffer_put(ProvidedBuffers* p, std::uint32_t id) noexcept {
  if (p->registered) {
    auto* br = static_cast<io_uring_buf_ring*>(p->ring);
    io_uring_buf_ring_add(br, p->data(id), p->size, static_cast<unsigned short>(id),
                          io_uring_buf_ring_mask(p->count), 0);
    // release (inside): the entry is written before the kernel can see the new tail.
    io_uring_buf_ring_advance(br, 1);
    p->where[id] = ProvidedBuffers::kKernel;
  } else {
    p->where[id] = ProvidedBuffers::kFree;
    ++p->free_count;
  }
}

void provided_buffers_offer_all(ProvidedBuffers* p) noexcept {
  auto* br = static_cast<io_uring_buf_ring*>(p->ring);
  int mask = io_uring_buf_ring_mask(p->count);
  int n = 0;
  for (std::uint32_t i = 0; i < p->count; ++i) {
    if (p->where[i] != ProvidedBuffers::kFree) continue;
    io_uring_buf_ring_add(br, p->data(i), p->size, static_cast<unsigned short>(i), mask, n++);
    p->where[i] = ProvidedBuffers::kKernel;
  }
  p->free_count = 0;
  if (n != 0) io_uring_buf_ring_advance(br, n);
}

struct ReceiverState : IoOp {
  ProvidedBuffers pool;
  FdRef* fd_ref = nullptr;
  Reactor* reactor = nullptr;  // set by the first arm (a task of that runtime)
  // --- under pool.mu ---
  std::uint32_t* q_id = nullptr;  // queue of received chunks (at most `count`: one per buffer)
  std::uint32_t* q_len = nullptr;
  std::uint32_t q_head = 0;
  std::uint32_t q_size = 0;
  Waker waker;           // the task waiting in next()
  bool waiting = false;  // `waker` is published
  bool armed = false;    // the op is submitted and has not completed
  bool ended = false;    // `end_res` is the final outcome (0: end of stream)
  bool destroyed = false;
  int end_res = 0;
  void* block = nullptr;  // the one allocation holding buffers, ring, arrays

  ~ReceiverState() {
    if (fd_ref != nullptr) fd_ref_release(fd_ref);
    std::free(block);
  }
};

namespace {

void receiver_destroy(IoOp* op) noexcept {
  delete static_cast<ReceiverState*>(op);
}

// Under the mutex: can the op be (re-)armed now?
bool can_arm(ReceiverState* s) noexcept {
  return !s->armed && !s->ended && !s->destroyed && (s->pool.free_count != 0 || s->pool.registered);
}

// Under the mutex: marks the op armed and routes it from this thread; the caller submits it
// after unlocking (with the backend's reference counted).
void prepare_arm(ReceiverState* s) noexcept {
  s->armed = true;
  s->routed = false;
  route_io(s->reactor, s);
}

bool receiver_more(IoOp* op, int res, std::uint32_t id) noexcept {
  auto* s = static_cast<ReceiverState*>(op);
  Waker w;
  {
    std::lock_guard lock(s->pool.mu);
    s->pool.where[id] = ProvidedBuffers::kHeld;
    if (res <= 0) {
      provided_buffer_put(&s->pool, id);  // handed back unused
      return true;
    }
    std::uint32_t slot = (s->q_head + s->q_size) & (s->pool.count - 1);
    s->q_id[slot] = id;
    s->q_len[slot] = static_cast<std::uint32_t>(res);
    ++s->q_size;
    if (s->waiting) {
      s->waiting = false;
      w = std::move(s->waker);
    }
  }
  w.wake();
  return true;
}

void receiver_complete(IoOp* op, int res) noexcept {
  auto* s = static_cast<ReceiverState*>(op);
  Waker w;
  bool rearm = false;
  {
    std::lock_guard lock(s->pool.mu);
    s->armed = false;
    if (res > 0 || res == -ENOBUFS) {
      // Stopped, not ended: armed again when a task wants data and a buffer is free.
      if (s->waiting && can_arm(s)) {
        prepare_arm(s);
        rearm = true;
      } else if (s->waiting && s->q_size == 0) {
        s->waiting = false;  // every buffer is held: the task learns it (kResourceExhausted)
        w = std::move(s->waker);
      }
    } else {
      s->ended = true;
      s->end_res = res;
      if (s->waiting) {
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

void receiver_chunk_release(ReceiverState* s, std::uint32_t id) noexcept {
  bool rearm = false;
  {
    std::lock_guard lock(s->pool.mu);
    provided_buffer_put(&s->pool, id);
    // A task waits with nothing queued while the op is stopped: it needs this buffer.
    if (s->waiting && can_arm(s)) {
      prepare_arm(s);
      io_op_ref(s);  // the backend's
      rearm = true;
    }
  }
  if (rearm) submit_io(s->reactor, s);
  io_op_unref(s);  // the chunk's
}

}  // namespace executor::detail

namespace executor::io {

using detail::can_arm;
using detail::prepare_arm;
using detail::ProvidedBuffers;
using detail::ReceiverState;

absl::StatusOr<Receiver> TcpStream::receiver(ReceiverOptions options) {
  constexpr const char* kOp = "receiver";
  if (fd_ == nullptr) return detail::io_error(EBADF, kOp);
  if (options.buffers == 0 || options.buffers > 32768) {
    return detail::io_invalid(kOp, "buffers must be in 1..32768");
  }
  if (options.buffer_size == 0 || options.buffer_size > (16u << 20)) {
    return detail::io_invalid(kOp, "buffer_size must be in 1..16 MiB");
  }
  std::uint32_t count = std::bit_ceil(options.buffers);
  std::size_t ring_bytes = std::max<std::size_t>(count * sizeof(io_uring_buf), 4096);
  ring_bytes = (ring_bytes + 4095) & ~std::size_t{4095};
  std::size_t data_bytes = (static_cast<std::size_t>(count) * options.buffer_size + 63) & ~63ul;
  std::size_t total = ring_bytes + data_bytes + count * (2 * sizeof(std::uint32_t) + 1);
  total = (total + 4095) & ~std::size_t{4095};
  void* block = std::aligned_alloc(4096, total);
  if (block == nullptr) return detail::io_error(ENOMEM, kOp, fd_->fd);
  auto* s = new (std::nothrow) ReceiverState;
  if (s == nullptr) {
    std::free(block);
    return detail::io_error(ENOMEM, kOp, fd_->fd);
  }
  auto* base = static_cast<std::byte*>(block);
  s->block = block;
  s->pool.ring = base;
  s->pool.storage = base + ring_bytes;
  s->q_id = reinterpret_cast<std::uint32_t*>(base + ring_bytes + data_bytes);
  s->q_len = s->q_id + count;
  s->pool.where = reinterpret_cast<std::uint8_t*>(s->q_len + count);
  std::memset(s->pool.where, ProvidedBuffers::kFree, count);
  s->pool.count = count;
  s->pool.size = options.buffer_size;
  s->pool.free_count = count;
  s->opcode = detail::IoOpcode::kRecvMultishot;
  s->addr = &s->pool;
  s->op_flags = 0;
  s->more = &detail::receiver_more;
  s->complete = &detail::receiver_complete;
  s->destroy = &detail::receiver_destroy;
  detail::fd_ref_acquire(fd_);
  s->fd_ref = fd_;
  s->fd = fd_->fd;
  return Receiver(s);  // refs == 1: the receiver's
}

Receiver& Receiver::operator=(Receiver&& o) noexcept {
  if (this != &o) {
    Receiver dying(std::exchange(s_, std::exchange(o.s_, nullptr)));
  }
  return *this;
}

Receiver::~Receiver() {
  if (s_ == nullptr) return;
  ReceiverState* s = std::exchange(s_, nullptr);
  bool cancel;
  detail::Waker w;
  {
    std::lock_guard lock(s->pool.mu);
    s->destroyed = true;
    cancel = s->armed;
    if (s->waiting) {  // only a misuse leaves a waiter behind: let it see the end
      s->waiting = false;
      w = std::move(s->waker);
    }
  }
  w.drop();
  // The op completes with -ECANCELED (or its real end) and the backend drops its reference.
  if (cancel) detail::cancel_io(s->reactor, s);
  detail::io_op_unref(s);
}

std::uint32_t Receiver::buffers() const noexcept {
  return s_ != nullptr ? s_->pool.count : 0;
}
std::uint32_t Receiver::buffer_size() const noexcept {
  return s_ != nullptr ? s_->pool.size : 0;
}

// --- NextOperation ---------------------------------------------------------------------------

NextOperation::~NextOperation() {
  if (suspended_) withdraw();  // destroyed while suspended: nothing is lost
}

void NextOperation::Hook::fire(detail::CancelCallbackNode* n) noexcept {
  NextOperation* self = static_cast<Hook*>(n)->self;
  ReceiverState* s = self->s_;
  detail::Waker w;
  {
    std::lock_guard lock(s->pool.mu);
    self->cancelled_ = true;
    if (s->waiting) {
      s->waiting = false;
      w = std::move(s->waker);
    }
  }
  w.wake();
}

bool NextOperation::take_locked() {
  ReceiverState* s = s_;
  if (s->q_size != 0) {
    std::uint32_t slot = s->q_head;
    s->q_head = (s->q_head + 1) & (s->pool.count - 1);
    --s->q_size;
    std::uint32_t id = s->q_id[slot];
    detail::io_op_ref(s);  // the chunk's
    result_.emplace(Chunk(s, s->pool.data(id), s->q_len[slot], id));
    return true;
  }
  if (s->ended) {
    if (s->end_res == 0) {
      result_.emplace(Chunk());
    } else {
      result_.emplace(detail::io_result_error(s->end_res, "recv_multishot", s->fd));
    }
    return true;
  }
  return false;
}

bool NextOperation::await_ready() {
  if (s_ == nullptr) {
    result_.emplace(absl::FailedPreconditionError("Receiver::next on a closed receiver"));
    return true;
  }
  if (token_.has_value() && token_->is_cancelled()) {
    result_.emplace(detail::io_result_error(-ECANCELED, "recv_multishot", s_->fd));
    return true;
  }
  std::lock_guard lock(s_->pool.mu);
  if (s_->waiting) {
    result_.emplace(absl::FailedPreconditionError("Receiver::next: another next() is waiting"));
    return true;
  }
  return take_locked();
}

bool NextOperation::await_suspend(std::coroutine_handle<> h) {
  ReceiverState* s = s_;
  if (s->reactor == nullptr) s->reactor = detail::current_reactor();
  bool has_deadline = deadline_ != std::chrono::steady_clock::time_point{};
  bool arm = false;
  {
    std::lock_guard lock(s->pool.mu);
    if (take_locked()) return false;  // arrived meanwhile
    if (!s->armed) {
      if (!can_arm(s)) {
        result_.emplace(absl::ResourceExhaustedError(
            "Receiver::next: nothing received and every buffer is held by a Chunk"));
        return false;
      }
      prepare_arm(s);
      detail::io_op_ref(s);  // the backend's
      arm = true;
    }
    if (has_deadline && deadline_ <= std::chrono::steady_clock::now()) {
      result_.emplace(detail::io_result_error(-ETIME, "recv_multishot", s->fd));
    } else {
      detail::Waker w = detail::Waker::current(h);
      if (has_deadline) timer_.waker = w.clone();  // first of the two wakes wins
      s->waker = std::move(w);
      s->waiting = true;
      suspended_ = true;
    }
  }
  if (!suspended_) {
    if (arm) detail::submit_io(s->reactor, s);  // armed for the next call
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

void NextOperation::withdraw() noexcept {
  suspended_ = false;
  if (timer_armed_) detail::timer_cancel(&timer_);
  timer_armed_ = false;
  // Waits for a callback another thread is running right now.
  if (hooked_) detail::cancel_state_unregister(token_->state_for_internal_use(), &hook_);
  hooked_ = false;
  detail::Waker w;
  std::lock_guard lock(s_->pool.mu);
  if (s_->waiting) {
    s_->waiting = false;
    w = std::move(s_->waker);
  }
  // `w` drops after the unlock (declared first, destroyed last).
}

absl::StatusOr<Chunk> NextOperation::await_resume() {
  if (suspended_) {
    withdraw();
    std::lock_guard lock(s_->pool.mu);
    if (!take_locked()) {
      if (cancelled_) {
        result_.emplace(detail::io_result_error(-ECANCELED, "recv_multishot", s_->fd));
      } else if (deadline_ != std::chrono::steady_clock::time_point{} &&
                 deadline_ <= std::chrono::steady_clock::now()) {
        result_.emplace(detail::io_result_error(-ETIME, "recv_multishot", s_->fd));
      } else {
        result_.emplace(absl::ResourceExhaustedError(
            "Receiver::next: nothing received and every buffer is held by a Chunk"));
      }
    }
  }
  return std::move(*result_);
}

}  // namespace executor::io
