// executor::io::Receiver: a multishot receive on a TcpStream, with its own pool of buffers.
//
//   absl::StatusOr<io::Receiver> rx = stream.receiver();   // 16 buffers x 4 KiB by default
//   for (;;) {
//     absl::StatusOr<io::Chunk> c = co_await rx->next();
//     if (!c.ok() || c->empty()) break;                    // error, or the peer closed
//     use(c->view());                                      // the buffer goes back to the pool
//   }                                                      // when `c` is destroyed
//
// One receive stays armed in the kernel (io_uring: IORING_OP_RECV with IORING_RECV_MULTISHOT
// from a provided-buffer ring registered for this receiver; epoll: a readiness loop) and fills
// the pool's buffers as data arrives, whether or not a task waits in next(): no operation, no
// system call and no allocation per message. next() hands out the received chunks in order.
// Compared with TcpStream::recv: data waiting in a chunk is never lost (a next() that times out
// or whose coroutine is destroyed loses nothing: the data stays queued for the next call), but
// the receiver keeps `buffers x buffer_size` bytes per connection.
//
// Flow control: a chunk's buffer returns to the pool when the Chunk is destroyed (or release()d).
// When every buffer is filled (queued or held by you) the kernel stops the receive (ENOBUFS);
// the data stays in the socket and the receive is armed again by the next next() that finds a
// free buffer. When the kernel ends the receive for its own reasons it is armed again too.
//
// Results of next():
//   a Chunk with data            in the order received
//   an empty Chunk               the peer closed (every later call too)
//   kDeadlineExceeded            .timeout(d) / .deadline(t) passed with nothing received
//   kCancelled                   .cancel_on(token) fired (or the runtime is shutting down)
//   kResourceExhausted           nothing queued and every buffer is held by your chunks
//   kFailedPrecondition          a moved-from/default Receiver, or another next() is waiting
//   other I/O errors             as TcpStream::recv reports them (every later call too)
//
// Cancellation: destroying a coroutine suspended in next() is safe and loses nothing.
// Destroying the Receiver cancels the kernel's receive: what it received and you had not taken
// yet (queued chunks, or data arriving before the cancel takes effect) is lost, as with a
// cancelled recv(). Chunks you still hold stay valid; the memory goes with the last of them.
// Migration: with worker rings the receive runs on the ring of the worker that armed it (its
// buffer ring is registered there) while the task may run on any worker. When the task waits
// in next() on one worker while that ring's worker is parked (every chunk would then be reaped
// by the completion thread and handed across), the receive is stopped and armed again on the
// task's worker: the chunks stay in order (the old receive's last chunk comes before the new
// one starts) and nothing is lost. moves() counts these.
// Thread safety: one task at a time calls next() (a second concurrent next() is
// kFailedPrecondition). Chunks may be released on any thread. Do not mix a Receiver with recv()
// on the same stream (which one gets which bytes is unspecified; on the epoll backend the recv
// waits until the receiver is gone). Memory ordering: a chunk's bytes are visible when next()
// returns it.
// Memory: one allocation per receiver (state, buffers and the ring), none per message.
#pragma once

#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <utility>

#include <absl/status/status.h>
#include <absl/status/statusor.h>

#include <executor/detail/multishot_next.hpp>
#include <executor/export.hpp>

namespace executor::detail {
struct ReceiverState;  // runtime/linux/io_receiver.cpp
EXECUTOR_API void receiver_chunk_release(ReceiverState* s, std::uint32_t id) noexcept;
}  // namespace executor::detail

namespace executor::io {

struct ReceiverOptions {
  // Buffers in the pool: 1..32768, rounded up to a power of two.
  std::uint32_t buffers = 16;
  // Bytes per buffer (the largest chunk): 1..16 MiB.
  std::uint32_t buffer_size = 4096;
};

// Bytes received into one of a Receiver's buffers. Move-only; gives the buffer back to the pool
// when destroyed. Valid after the Receiver is gone.
// HACK(GCC 12): StatusOr<StatusOr<Chunk>> (a Task's result through executor::timeout) makes it
// report the moved-from fields of the error alternative as maybe uninitialised.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
class Chunk {
 public:
  Chunk() noexcept = default;
  Chunk(Chunk&& o) noexcept
      : s_(std::exchange(o.s_, nullptr)),
        data_(std::exchange(o.data_, nullptr)),
        size_(std::exchange(o.size_, 0)),
        id_(o.id_) {}
  Chunk& operator=(Chunk&& o) noexcept {
    if (this != &o) {
      release();
      s_ = std::exchange(o.s_, nullptr);
      data_ = std::exchange(o.data_, nullptr);
      size_ = std::exchange(o.size_, 0);
      id_ = o.id_;
    }
    return *this;
  }
  Chunk(const Chunk&) = delete;
  Chunk& operator=(const Chunk&) = delete;
  ~Chunk() { release(); }

  std::byte* data() noexcept { return data_; }
  const std::byte* data() const noexcept { return data_; }
  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  std::span<std::byte> bytes() noexcept { return {data_, size_}; }
  std::span<const std::byte> bytes() const noexcept { return {data_, size_}; }
  std::string_view view() const noexcept { return {reinterpret_cast<const char*>(data_), size_}; }
  // Gives the buffer back now (the chunk becomes empty).
  void release() noexcept {
    if (s_ != nullptr) detail::receiver_chunk_release(std::exchange(s_, nullptr), id_);
    data_ = nullptr;
    size_ = 0;
  }

 private:
  friend class NextOperation;
  Chunk(detail::ReceiverState* s, std::byte* data, std::uint32_t size, std::uint32_t id) noexcept
      : s_(s), data_(data), size_(size), id_(id) {}
  detail::ReceiverState* s_ = nullptr;
  std::byte* data_ = nullptr;
  std::size_t size_ = 0;
  std::uint32_t id_ = 0;
};
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

// Receiver::next(). Await it once; movable until awaited. Its builders, from detail::BoundedAwait:
// `.timeout(d)` (d <= 0: only what is queued), `.deadline(t)`, `.cancel_on(token)`; what they do
// when they are hit is in the header comment.
class EXECUTOR_API NextOperation
    : public detail::MultishotNext<NextOperation, detail::ReceiverState> {
 public:
  explicit NextOperation(detail::ReceiverState* s) noexcept : MultishotNext(s) {}
  NextOperation(NextOperation&& o) noexcept : MultishotNext(std::move(o)) {}

  bool await_ready();
  bool await_suspend(std::coroutine_handle<> h);
  absl::StatusOr<Chunk> await_resume();

 private:
  friend class detail::MultishotNext<NextOperation, detail::ReceiverState>;
  // What detail::MultishotNext asks of its awaiter (runtime/linux/multishot_op.hpp).
  // Under the receiver's lock: a queued chunk or the final outcome, if there is one.
  bool take_locked();
  void fail(absl::Status st) { result_.emplace(std::move(st)); }
  void took() noexcept {}
  bool refuse_locked();
  void woke_empty();

  std::optional<absl::StatusOr<Chunk>> result_;
};

class EXECUTOR_API Receiver {
 public:
  Receiver() noexcept = default;
  Receiver(Receiver&& o) noexcept : s_(std::exchange(o.s_, nullptr)) {}
  Receiver& operator=(Receiver&& o) noexcept;
  Receiver(const Receiver&) = delete;
  Receiver& operator=(const Receiver&) = delete;
  ~Receiver();

  // The next chunk (see the header comment). Bound it with `.timeout(d)`.
  [[nodiscard]] NextOperation next() noexcept { return NextOperation(s_); }

  bool is_open() const noexcept { return s_ != nullptr; }
  std::uint32_t buffers() const noexcept;
  std::uint32_t buffer_size() const noexcept;
  // Diagnostics: how many times the receive moved to the ring of the worker running the task
  // that waits in next() (see Migration above). 0 on the epoll backend.
  std::uint64_t moves() const noexcept;

 private:
  friend class TcpStream;
  explicit Receiver(detail::ReceiverState* s) noexcept : s_(s) {}
  detail::ReceiverState* s_ = nullptr;
};

}  // namespace executor::io
