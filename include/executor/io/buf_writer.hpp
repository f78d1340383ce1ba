// executor::io::BufWriter: a write buffer over any io::WriteStream (TcpStream, File on a pipe or
// a file, your own type): many small writes become few system calls.
//
//   io::BufWriter<io::TcpStream> out(conn);                 // refers to conn (not owned)
//   co_await out.write("HTTP/1.1 200 OK\r\n");               // copied into the buffer
//   co_await out.write(body);                                // flushed once `threshold` is reached
//   absl::Status s = co_await out.flush().timeout(5s);       // everything buffered, sent
//
//   write(bytes)  copies `bytes` into the buffer; whenever the buffer holds `flush_threshold`
//                 bytes or more (or is full) it is written out first. Returns without a system
//                 call while the bytes fit below the threshold.
//   flush()       writes out everything buffered (looping on short writes).
// Every call is an awaitable with `.timeout(d)`, `.deadline(t)` and `.cancel_on(token)`, and
// executor::timeout(d, call) means the same as `.timeout(d)`; a bound bounds each write the call
// starts. Nothing is written when the writer is destroyed: flush() before dropping it.
//
// Cancellation and timeouts: a flush that times out or is cancelled keeps what it has not sent
// (the next flush() sends it; what was sent is gone from the buffer). A write() that fails may
// have buffered a prefix of its bytes (buffered() tells how much is pending). If the coroutine
// awaiting a flush (or a write that flushes) is destroyed, the bytes it was sending go with the
// kernel's write (some may have been sent): the writer stays usable, with an empty buffer.
// Memory: one buffer of `capacity` bytes (again after a destroyed flush took it).
// Thread safety: one task uses a writer at a time; the stream may be read by another task
// meanwhile (a BufReader on the same TcpStream). The stream must outlive the writer.
// Errors: the stream's errors, unchanged. A write that the stream accepts 0 bytes of:
// kUnavailable.
#pragma once

#include <algorithm>
#include <cstddef>
#include <optional>
#include <span>
#include <string_view>

#include <absl/status/status.h>

#include <executor/detail/bounded_task.hpp>
#include <executor/io/buffer.hpp>
#include <executor/io/stream.hpp>
#include <executor/task.hpp>

namespace executor::io {

template <WriteStream S>
class BufWriter {
 public:
  static constexpr std::size_t kDefaultCapacity = 8 * 1024;

  // flush_threshold 0 (or above capacity): capacity. capacity 0 is taken as 1. Throws
  // std::bad_alloc.
  explicit BufWriter(S& stream, std::size_t capacity = kDefaultCapacity,
                     std::size_t flush_threshold = 0)
      : stream_(&stream),
        capacity_(std::max<std::size_t>(capacity, 1)),
        threshold_(flush_threshold == 0 || flush_threshold > capacity_ ? capacity_
                                                                       : flush_threshold),
        buf_(capacity_) {}
  BufWriter(BufWriter&&) noexcept = default;  // not while a call is in progress
  BufWriter& operator=(BufWriter&&) noexcept = default;

  S& stream() noexcept { return *stream_; }
  // Bytes written into the buffer and not yet sent.
  std::size_t buffered() const noexcept { return buf_.size(); }
  std::span<const std::byte> buffer() const noexcept { return buf_.bytes(); }

  class WriteOperation;
  class FlushOperation;

  // `bytes` must stay valid until the call returns.
  [[nodiscard]] WriteOperation write(std::span<const std::byte> bytes) noexcept {
    return WriteOperation(this, bytes);
  }
  [[nodiscard]] WriteOperation write(std::string_view s) noexcept {
    return WriteOperation(this, std::as_bytes(std::span(s)));
  }
  [[nodiscard]] FlushOperation flush() noexcept { return FlushOperation(this); }

  class WriteOperation : public detail::BoundedTask<WriteOperation, absl::Status> {
   public:
    WriteOperation(WriteOperation&&) noexcept = default;
    std::optional<absl::Status> try_now() {
      BufWriter& w = *w_;
      if (w.buf_.capacity() < w.capacity_) return std::nullopt;  // run() allocates
      if (w.buf_.size() + in_.size() >= w.threshold_ || in_.size() > w.buf_.spare()) {
        return std::nullopt;
      }
      w.buf_.append(in_);
      return absl::OkStatus();
    }
    Task<absl::Status> run(detail::AwaitBounds b) {
      BufWriter& w = *w_;
      std::span<const std::byte> rest = in_;
      while (!rest.empty()) {
        if (w.buf_.capacity() < w.capacity_ && w.buf_.empty()) w.buf_ = Buffer(w.capacity_);
        if (w.buf_.spare() == 0) w.buf_.compact();
        std::size_t k = std::min(rest.size(), w.buf_.spare());
        w.buf_.append(rest.first(k));
        rest = rest.subspan(k);
        if (w.buf_.size() >= w.threshold_ || w.buf_.spare() == 0) {
          absl::Status s = co_await w.flush_buffer(b);
          if (!s.ok()) co_return s;
        }
      }
      co_return absl::OkStatus();
    }

   private:
    friend BufWriter;
    WriteOperation(BufWriter* w, std::span<const std::byte> in) noexcept : w_(w), in_(in) {}
    BufWriter* w_;
    std::span<const std::byte> in_;
  };

  class FlushOperation : public detail::BoundedTask<FlushOperation, absl::Status> {
   public:
    FlushOperation(FlushOperation&&) noexcept = default;
    std::optional<absl::Status> try_now() {
      if (w_->buf_.empty()) return absl::OkStatus();
      return std::nullopt;
    }
    Task<absl::Status> run(detail::AwaitBounds b) { return w_->flush_buffer(b); }

   private:
    friend BufWriter;
    explicit FlushOperation(BufWriter* w) noexcept : w_(w) {}
    BufWriter* w_;
  };

 private:
  // Writes until the buffer is empty. A write that fails returns buf_ with what it did not send.
  Task<absl::Status> flush_buffer(detail::AwaitBounds b) {
    while (!buf_.empty()) {
      absl::StatusOr<std::size_t> n = co_await detail::with_bounds(write_some(*stream_, buf_), b);
      if (!n.ok()) co_return n.status();
      if (*n == 0) co_return absl::UnavailableError("flush: the stream accepted no bytes");
      buf_.consume(*n);
    }
    co_return absl::OkStatus();
  }

  S* stream_;
  std::size_t capacity_;
  std::size_t threshold_;
  Buffer buf_;  // [data(), data() + size()): written, not yet sent
};

}  // namespace executor::io
