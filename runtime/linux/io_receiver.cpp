// executor::io::Receiver: a multishot receive over a pool of provided buffers.
//
// Design
// ------
// ReceiverState is the IoOp (kRecvMultishot) plus everything around it: the buffer pool
// (provided_buffers.hpp), the queue of received chunks and the op's outcome; the waiting task's
// waker and the arming state are the MultishotOp's (multishot_op.hpp, shared with
// io_acceptor.cpp, as is the awaiter's logic). One mutex (the pool's) guards all of it. References:
// the Receiver holds one, the backend one while the op is armed, every Chunk one; the last frees
// the state, its buffers and its fd reference.
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
// re-arm happens on a worker of the runtime, never elsewhere: next() runs on the task's worker;
// complete() and a Chunk release re-arm from the thread they run on only if it is a worker, else
// they hand the re-arm to a small task on a worker (run_on_worker, receiver_rearm). A re-arm
// from the completion thread would put the receive on its own ring for good, with every chunk
// handed across threads. Every routing decision is made under the mutex, so the Receiver's
// destructor (the only canceller) reads a settled op->ring.
//
// Migration: io_uring runs a receive's work in the thread that submitted it, and the receive
// stays on that worker's ring while the task may be stolen by another worker. That is fine while
// the ring's owner is awake (it reaps the chunks at its flushes); once it parks, every chunk
// goes eventfd -> completion thread -> wake queue -> the task's worker. So when the task is about
// to wait in next() on a worker other than the ring's parked owner (should_move_locked), the
// op is stopped (WorkerRing::stop, an ASYNC_CANCEL whose final result is "stopped", not
// "cancelled") and its final CQE re-arms it as above, on the task's worker. The chunks stay in
// order: the old receive's CQEs all come before its final one, and the new receive is submitted
// only after it. (A first attempt cancelled and re-armed from whichever thread reaped the final
// CQE: mostly the completion thread, so the receive ended up on its ring.)
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
#include <utility>

#include <liburing.h>

#include <executor/detail/fd_ref.hpp>
#include <executor/detail/io_op.hpp>
#include <executor/detail/task_header.hpp>
#include <executor/io/error.hpp>
#include <executor/io/operation.hpp>
#include <executor/io/receiver.hpp>
#include <executor/io/tcp_stream.hpp>

#include "multishot_op.hpp"
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

struct ReceiverState : MultishotOp {
  static constexpr const char* kOpName = "recv_multishot";
  static constexpr const char* kClosedError = "Receiver::next on a closed receiver";
  static constexpr const char* kBusyError = "Receiver::next: another next() is waiting";

  // The base keeps only the mutex's address (pool is constructed after it; nothing locks it
  // before the constructor ends). Taken through a function: Clang 14's -Wuninitialized treats
  // naming pool.mu in the base's initializer as a use of the uninitialised field.
  explicit ReceiverState(FdRef* r) noexcept : MultishotOp(pool_mutex(this), r) {}
  static std::mutex* pool_mutex(ReceiverState* s) noexcept { return &s->pool.mu; }
  ~ReceiverState() { std::free(block); }
  // Under the mutex: can the op be (re-)armed now?
  bool can_arm() const noexcept {
    return !armed && !ended && !destroyed && !stopping && (pool.free_count != 0 || pool.registered);
  }
  // Under the mutex, the task about to wait (MultishotNext::suspend): the op is armed on the ring
  // of a worker that is parked while this task runs on another, so every chunk would be reaped by
  // the completion thread and cross to this task's worker. Stop it (the caller does, unlocked);
  // its final result (> 0, stopped) arms it again from a worker (receiver_complete).
  bool should_move_locked() noexcept {
    if (!armed || moving || ended || destroyed || !io_op_stranded(reactor, this)) return false;
    moving = true;
    stopping = true;  // no re-arm (no re-routing) until the stop is issued: see move_now()
    ++moves;
    return true;
  }
  // The task that got true from should_move_locked, with no lock held (still running, so the
  // state stays alive): stops the op on its ring -- op->ring cannot change meanwhile, since
  // nothing re-arms the op while `stopping` is set -- and then does what the op's final result
  // would have done if it came in between: arm again here, on the task's worker, if the task
  // still waits (or wake it if every buffer is held).
  void move_now() noexcept;

  ProvidedBuffers pool;
  // --- under pool.mu ---
  std::uint32_t* q_id = nullptr;  // queue of received chunks (at most `count`: one per buffer)
  std::uint32_t* q_len = nullptr;
  std::uint32_t q_head = 0;
  std::uint32_t q_size = 0;
  bool ended = false;  // `end_res` is the final outcome (0: end of stream)
  int end_res = 0;
  bool moving = false;      // stopped by should_move_locked(); its final result has not come
  bool stopping = false;    // should_move_locked() chose to stop it; move_now() has not finished
  std::uint64_t moves = 0;  // times should_move_locked() stopped it (Receiver::moves)
  void* block = nullptr;    // the one allocation holding buffers, ring, arrays
};

namespace {

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
    w = s->take_waker_locked();
  }
  w.wake();
  return true;
}

// Arms the op on the calling thread's ring if it can be armed (with `only_if_waiting`: and a
// task waits for data).
void receiver_arm(ReceiverState* s, bool only_if_waiting) noexcept {
  bool arm = false;
  {
    std::lock_guard lock(s->pool.mu);
    if ((s->waiting || !only_if_waiting) && s->can_arm()) {
      s->prepare_arm_locked();
      io_op_ref(s);  // the backend's
      arm = true;
    }
  }
  if (arm) submit_io(s->reactor, s);
}

// run_on_worker's job (holding a reference), asked for by a waiting task or a move: arms the op
// if it can be armed. On a worker, the op goes to that worker's ring; if the job could not run
// there, it is armed from here all the same (after a runtime's teardown it then completes at
// once as cancelled).
void receiver_arm_job(void* p, bool) noexcept {
  auto* s = static_cast<ReceiverState*>(p);
  receiver_arm(s, /*only_if_waiting=*/false);
  io_op_unref(s);  // the job's
}

// A chunk release freed the buffer a waiting task needs: the op is armed again from a worker of
// its runtime, never from the completion thread (or a plain thread), whose ring would keep it for
// good and relay every chunk.
void receiver_rearm(ReceiverState* s) noexcept {
  if (on_worker_of(s->reactor)) {
    receiver_arm(s, /*only_if_waiting=*/true);
    return;
  }
  io_op_ref(s);  // the job's
  run_on_worker(s->reactor, &receiver_arm_job, s);
}

void receiver_complete(IoOp* op, int res) noexcept {
  auto* s = static_cast<ReceiverState*>(op);
  Waker w;
  bool rearm = false;
  bool job = false;
  {
    std::lock_guard lock(s->pool.mu);
    s->armed = false;
    bool moved = std::exchange(s->moving, false);
    if (res > 0 || res == -ENOBUFS) {
      // Stopped, not ended: armed again when a task wants data and a buffer is free, or at once
      // if this was a move (a receive stays armed between next() calls: data arriving meanwhile
      // is queued) -- on a worker: from here if this is one (usually the task's own, or one
      // helping it), else through a job on a worker (this is not one). While a move is being
      // issued, its task does it instead (move_now).
      if (s->stopping) {
      } else if ((s->waiting || moved) && s->can_arm()) {
        if (on_worker_of(s->reactor)) {
          s->prepare_arm_locked();
          rearm = true;
        } else {
          job = true;
        }
      } else if (s->q_size == 0) {
        // Every buffer is held: the task learns it (kResourceExhausted).
        w = s->take_waker_locked();
      }
    } else {
      s->ended = true;
      s->end_res = res;
      w = s->take_waker_locked();
    }
    if (job) io_op_ref(s);  // the job's, taken before the backend's goes
  }
  multishot_completed(s, w, rearm);
  if (job) run_on_worker(s->reactor, &receiver_arm_job, s);
}

}  // namespace

void ReceiverState::move_now() noexcept {
  stop_io(reactor, this);
  Waker w;
  bool arm = false;
  {
    std::lock_guard lock(pool.mu);
    stopping = false;
    if (!armed && !ended) {  // the final result came meanwhile
      if (can_arm()) {
        prepare_arm_locked();
        io_op_ref(this);  // the backend's
        arm = true;
      } else if (q_size == 0) {
        w = take_waker_locked();  // every buffer is held (as in receiver_complete)
      }
    }
  }
  w.wake();
  if (arm) submit_io(reactor, this);
}

void receiver_chunk_release(ReceiverState* s, std::uint32_t id) noexcept {
  bool rearm;
  {
    std::lock_guard lock(s->pool.mu);
    provided_buffer_put(&s->pool, id);
    // A task waits with nothing queued while the op is stopped: it needs this buffer.
    rearm = s->waiting && s->can_arm();
  }
  if (rearm) receiver_rearm(s);
  io_op_unref(s);  // the chunk's
}

}  // namespace executor::detail

namespace executor::io {

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
  auto* s = new (std::nothrow) ReceiverState(fd_);
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
  s->destroy = &detail::io_state_destroy<ReceiverState>;
  return Receiver(s);  // refs == 1: the receiver's
}

Receiver& Receiver::operator=(Receiver&& o) noexcept {
  if (this != &o) {
    Receiver dying(std::exchange(s_, std::exchange(o.s_, nullptr)));
  }
  return *this;
}

Receiver::~Receiver() {
  if (s_ != nullptr) detail::multishot_close(std::exchange(s_, nullptr));
}

std::uint32_t Receiver::buffers() const noexcept {
  return s_ != nullptr ? s_->pool.count : 0;
}
std::uint32_t Receiver::buffer_size() const noexcept {
  return s_ != nullptr ? s_->pool.size : 0;
}
std::uint64_t Receiver::moves() const noexcept {
  if (s_ == nullptr) return 0;
  std::lock_guard lock(s_->pool.mu);
  return s_->moves;
}

// --- NextOperation (the waiting is detail::MultishotNext's) -----------------------------------

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
      result_.emplace(detail::io_result_error(s->end_res, ReceiverState::kOpName, s->fd));
    }
    return true;
  }
  return false;
}

// Nothing queued, the op not armed and no buffer free: waiting would never end.
bool NextOperation::refuse_locked() {
  if (s_->armed) return false;
  woke_empty();
  return true;
}

// complete() found the op stopped with every buffer held.
void NextOperation::woke_empty() {
  result_.emplace(absl::ResourceExhaustedError(
      "Receiver::next: nothing received and every buffer is held by a Chunk"));
}

bool NextOperation::await_ready() {
  return ready();
}

bool NextOperation::await_suspend(std::coroutine_handle<> h) {
  return suspend(h);
}

absl::StatusOr<Chunk> NextOperation::await_resume() {
  resume();
  return std::move(*result_);
}

}  // namespace executor::io
