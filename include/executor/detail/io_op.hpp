// The unit of asynchronous I/O handed to a backend (a worker's ring or the completion thread's),
// and the shared file descriptor.
//
// Design
// ------
// An `IoOp` describes one operation in backend-neutral terms (an opcode plus arguments, the way
// an io_uring SQE does). A backend — the submitting worker's own ring, or the completion
// thread's — turns it into an SQE (io_uring) or runs it by readiness / on its blocking pool
// (epoll fallback), and calls `complete` exactly once with
// a kernel-style result (>= 0, or -errno; -ETIME when the op's deadline passed first, -ECANCELED
// when it was cancelled before it finished).
//
// Ownership: an op is reference counted (`refs`). The submitter holds one reference, the backend
// holds one from `submit` until it has called `complete`, and a queued cancel request holds one
// until the completion thread has processed it. The memory the kernel may write (buffers,
// sockaddrs, the op itself) belongs to the op, so it outlives any coroutine frame that started
// it: an awaiter destroyed while its op is in flight requests a cancel and drops its reference;
// the op frees itself (closing an fd it produced that nobody took) when the last one goes.
//
//   submit_io ──> backend ──complete(res)──> waker.wake() ──> awaiter resumes, takes result,
//      │                                                      unrefs (frees if last)
//      └─ awaiter destroyed in flight: cancel_io (ref+1, queued) + unref; the backend's final
//         completion or the processed cancel drops the last reference and frees the op.
//
// Fields by writer: the argument block is written by the submitter before `submit_io` and is
// read-only afterwards (the submission queue's release/acquire publishes it); `refs` and
// `cancel_requested` are atomics any thread may touch; the backend block belongs to the thread
// that currently holds the op inside the backend (the completion thread, a blocking-pool
// thread while it runs the op, handed over under the pool's lock, or whoever holds a worker
// ring's lock). `complete` runs on the completion thread, a worker, or a cancelling thread.
#pragma once

#include <atomic>
#include <cstdint>

#include <executor/export.hpp>

namespace executor::detail {

enum class IoOpcode : std::uint8_t {
  kNop,
  kRead,     // fd, addr=buffer, len, off (-1: current position)
  kWrite,    // fd, addr=buffer, len, off
  kReadv,    // fd, addr=iovec*, len=count, off
  kWritev,   // fd, addr=iovec*, len=count, off
  kFsync,    // fd, op_flags=kFsyncDatasync or 0
  kOpenat,   // fd=dirfd, addr=path (NUL-terminated), op_flags=open flags, off=mode
  kClose,    // fd
  kStatx,    // fd, addr=path ("" with AT_EMPTY_PATH), op_flags=AT_* flags, len=mask, addr2=statx*
  kAccept,   // fd, addr=sockaddr* (or null), addr2=socklen_t*, op_flags=SOCK_* flags
  kConnect,  // fd, addr=sockaddr*, len=socklen
  kRecv,     // fd, addr=buffer, len, op_flags=MSG_* flags
  kSend,     // fd, addr=buffer, len, op_flags=MSG_* flags
  kRecvmsg,  // fd, addr=msghdr*, op_flags=MSG_* flags
  kSendmsg,  // fd, addr=msghdr*, op_flags=MSG_* flags
  // Multishot: fd, addr=ProvidedBuffers* (runtime/linux/provided_buffers.hpp), op_flags=MSG_*.
  // Every received chunk is reported through `more` (the buffer id and the byte count; a count
  // of 0 hands a buffer back unused); `complete` comes once, when the op ends: 0 end of stream,
  // > 0 the kernel stopped it (re-arm), -ENOBUFS no free buffer (re-arm once one is back), else
  // -errno.
  kRecvMultishot,
  // Multishot: fd, op_flags=SOCK_* flags. Every accepted connection (or per-connection error)
  // goes through `more` (res = the new fd, or -errno); `complete` comes once: > 0 stopped (by the
  // kernel, or because `more` asked), else -errno.
  kAcceptMultishot,
};

inline constexpr std::uint32_t kFsyncDatasync = 1;  // == IORING_FSYNC_DATASYNC

// Op option bits (IoOp::options).
inline constexpr std::uint8_t kOpNoCancel = 1;  // never cancelled, even at shutdown (close)

struct IoOp {
  // --- arguments: written before submit_io, read-only afterwards ---
  IoOpcode opcode = IoOpcode::kNop;
  std::uint8_t options = 0;
  int fd = -1;
  void* addr = nullptr;
  void* addr2 = nullptr;
  std::uint32_t len = 0;
  std::uint32_t op_flags = 0;
  std::uint64_t off = 0;
  // Absolute CLOCK_MONOTONIC (std::chrono::steady_clock) deadline in ns; 0 = none. When it
  // passes first the op is cancelled and completes with -ETIME.
  std::int64_t deadline_ns = 0;
  // The final completion, called exactly once per submit_io on a backend thread. It must drop
  // the backend's reference (io_op_unref) as its last access to the op.
  void (*complete)(IoOp* op, int res) noexcept = nullptr;
  // Multishot ops only: one result of many, before `complete`, on the thread that reaps the op
  // (possibly under a ring's lock: it must not submit or cancel ops). Returning false asks the
  // backend to stop the op (its final result is then > 0, like a stop by the kernel).
  bool (*more)(IoOp* op, int res, std::uint32_t buffer) noexcept = nullptr;
  // Frees the op; called by whoever drops the last reference.
  void (*destroy)(IoOp* op) noexcept = nullptr;

  // --- any thread ---
  // Holders: submitter, backend (submit..complete), queued cancel request.
  std::atomic<std::uint32_t> refs{1};
  // Set once by the first cancel request; later requests are no-ops.
  std::atomic<bool> cancel_requested{false};

  // --- routing: written by the submitting thread before the op is published (route_io) ---
  // The ring that owns the op: null for the completion thread's backend, else the submitting
  // worker's own ring (runtime/linux/worker_ring.hpp). Cancels follow it.
  void* ring = nullptr;
  bool routed = false;

  // --- backend-private ---
  IoOp* next = nullptr;         // submission stack, backlog, wait lists, pool queue
  IoOp* prev = nullptr;         // wait lists, pool queue
  IoOp* cancel_next = nullptr;  // cancel-request stack
  std::uint32_t bflags = 0;
  std::uint32_t bcount = 0;
  int bres = 0;
  std::int64_t bscratch[2] = {0, 0};  // io_uring: the linked timeout's timespec
};

inline void io_op_ref(IoOp* op) noexcept {
  // relaxed: a new reference is derived from one the caller holds.
  op->refs.fetch_add(1, std::memory_order_relaxed);
}

inline void io_op_unref(IoOp* op) noexcept {
  // acq_rel: release publishes this holder's writes (the result, the buffer contents); the
  // acquire in the last holder orders them before destroy.
  if (op->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) op->destroy(op);
}

class Reactor;  // the completion thread of a runtime (opaque outside runtime/linux)

// The completion thread of the running task's runtime (else of the process default runtime).
// Calls fatal() when there is none.
EXECUTOR_API Reactor* current_reactor() noexcept;

// Chooses where `op` will run (the calling worker's own ring, or the completion thread's) before
// anything can refer to it from another thread (a cancellation hook). Optional: submit_io routes
// an op that was not routed. Call on the thread that will submit it.
EXECUTOR_API void route_io(Reactor* r, IoOp* op) noexcept;
// Hands `op` to `r`; the backend takes one reference (the caller must have counted it in
// `refs`). Any thread. After the runtime has stopped, ops complete at once with -ECANCELED
// (kOpNoCancel ops are run synchronously instead).
EXECUTOR_API void submit_io(Reactor* r, IoOp* op) noexcept;
// Hands `op` to the running task's runtime (compatibility seam for tests and benchmarks).
EXECUTOR_API void submit_io(IoOp* op) noexcept;
// Requests cancellation of a submitted op (any thread, caller holds a reference). The op still
// completes exactly once: with -ECANCELED, or with its real result if it won the race.
EXECUTOR_API void cancel_io(Reactor* r, IoOp* op) noexcept;

// Name of the backend a runtime's reactor uses: "io_uring" or "epoll".
EXECUTOR_API const char* reactor_backend_name(Reactor* r) noexcept;

}  // namespace executor::detail
