// executor::io::BufReader: a read buffer over any io::ReadStream (TcpStream, File on a pipe or a
// file, your own type), with line, delimiter and exact-length reads.
//
//   io::BufReader<io::TcpStream> in(conn);                  // refers to conn (not owned)
//   absl::StatusOr<std::string> line = co_await in.read_line(1024).timeout(30s);
//   if (!line.ok()) ...;                                    // kDeadlineExceeded: nothing lost
//   else if (line->empty()) ...;                            // the peer closed
//   std::array<std::byte, 8> header;
//   absl::Status s = co_await in.read_exact(header);
//
// The reader keeps the bytes it has read and the caller has not taken in one io::Buffer; every
// call takes what it needs from there and reads from the stream only when that is not enough.
//
//   fill_buf()              the buffered bytes, reading once first if there are none (empty
//                           span: end of stream); take them with consume(n)
//   read_until(delim, max)  the bytes up to and including the first `delim`; at end of stream
//                           the rest (without delimiter), then "" on every later call
//   read_line(max)          read_until('\n', max): the line with its "\n" (and any "\r")
//   read_exact(out | n)     exactly out.size() (n) bytes
//   read_more(max)          one more read appended to the buffered bytes (what the framing
//                           helpers use); yields the bytes added, 0 at end of stream
//
// Every call is an awaitable with `.timeout(d)`, `.deadline(t)` and `.cancel_on(token)`, and
// executor::timeout(d, call) means the same as `.timeout(d)`. A bound is checked only when the
// call has to wait for the stream: it bounds each read the call starts.
//
// Cancellation and timeouts lose nothing: a call takes bytes out of the buffer only when it
// returns them, so after a timed-out, cancelled or destroyed read_line the next call sees every
// byte the earlier one had read. When bytes are buffered the reader reads into a second, scratch
// buffer and appends what arrived (one copy of the new bytes), so that a read whose coroutine is
// destroyed takes only the scratch storage with it; with nothing buffered it reads in place.
// The one thing a destroyed call can lose is the data of a read that completed while it was
// being destroyed (as with any read, <executor/io/operation.hpp>); a call bounded with
// `.timeout()`/`.cancel_on()` (or executor::timeout) never loses that either.
//
// Memory: the buffer starts at `capacity` bytes and grows (doubling) as far as a call needs: to
// `max` for read_until, to n for read_exact; the scratch buffer is `capacity` bytes, allocated
// the first time it is needed. Nothing is allocated per call when the answer is buffered, except
// the returned std::string.
// Thread safety: one task uses a reader at a time; the stream may be written by another task
// meanwhile (a BufWriter on the same TcpStream). The stream must outlive the reader.
// Errors: the stream's errors, unchanged (the buffered bytes stay). read_until/read_line with no
// delimiter within `max` bytes: kResourceExhausted (the bytes stay buffered: consume() them or
// close the connection). read_exact when the stream ends first: kOutOfRange (the bytes that came
// stay buffered). max == 0 or read_exact of 0 bytes: kInvalidArgument.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include <absl/status/status.h>
#include <absl/status/statusor.h>

#include <executor/detail/bounded_task.hpp>
#include <executor/io/buffer.hpp>
#include <executor/io/stream.hpp>
#include <executor/task.hpp>

namespace executor::io {

template <ReadStream S>
class BufReader {
 public:
  static constexpr std::size_t kDefaultCapacity = 8 * 1024;
  static constexpr std::size_t kDefaultMaxLine = 64 * 1024;

  // Throws std::bad_alloc. capacity 0 is taken as 1.
  explicit BufReader(S& stream, std::size_t capacity = kDefaultCapacity)
      : stream_(&stream), capacity_(std::max<std::size_t>(capacity, 1)), buf_(capacity_) {}
  BufReader(BufReader&&) noexcept = default;  // not while a call is in progress
  BufReader& operator=(BufReader&&) noexcept = default;

  S& stream() noexcept { return *stream_; }
  // The bytes read and not yet consumed (valid until the next call on the reader).
  std::span<const std::byte> buffer() const noexcept { return buf_.bytes(); }
  std::string_view buffered_view() const noexcept { return buf_.view(); }
  // Drops the first n buffered bytes. Throws std::length_error if n > buffer().size().
  void consume(std::size_t n) { buf_.consume(n); }

  class FillBufOperation;
  class ReadMoreOperation;
  class ReadUntilOperation;
  class ReadExactOperation;
  class ReadExactStringOperation;

  // The buffered bytes; if there are none, after one read (an empty span: end of stream).
  [[nodiscard]] FillBufOperation fill_buf() noexcept { return FillBufOperation(this); }
  // One more read from the stream, appended to the buffered bytes (growing the buffer when it
  // is full). Yields the bytes added (0: end of stream). kResourceExhausted if max_buffered bytes
  // are buffered already.
  [[nodiscard]] ReadMoreOperation read_more(
      std::size_t max_buffered = std::numeric_limits<std::size_t>::max()) noexcept {
    return ReadMoreOperation(this, max_buffered);
  }
  // Up to and including the first `delim` within the first `max` bytes.
  [[nodiscard]] ReadUntilOperation read_until(char delim, std::size_t max) noexcept {
    return ReadUntilOperation(this, delim, max, "read_until");
  }
  [[nodiscard]] ReadUntilOperation read_line(std::size_t max = kDefaultMaxLine) noexcept {
    return ReadUntilOperation(this, '\n', max, "read_line");
  }
  // Fills `out` (which must stay valid until the call returns).
  [[nodiscard]] ReadExactOperation read_exact(std::span<std::byte> out) noexcept {
    return ReadExactOperation(this, out);
  }
  // Exactly n bytes, as a string.
  [[nodiscard]] ReadExactStringOperation read_exact(std::size_t n) noexcept {
    return ReadExactStringOperation(this, n);
  }

  class FillBufOperation
      : public detail::BoundedTask<FillBufOperation, absl::StatusOr<std::span<const std::byte>>> {
   public:
    using Result = absl::StatusOr<std::span<const std::byte>>;
    FillBufOperation(FillBufOperation&&) noexcept = default;
    std::optional<Result> try_now() {
      if (r_->buf_.empty()) return std::nullopt;
      return Result(r_->buffer());
    }
    Task<Result> run(detail::AwaitBounds b) {
      absl::StatusOr<std::size_t> n = co_await r_->fill_more(b, kUnlimited);
      if (!n.ok()) co_return n.status();
      co_return Result(r_->buffer());
    }

   private:
    friend BufReader;
    explicit FillBufOperation(BufReader* r) noexcept : r_(r) {}
    BufReader* r_;
  };

  class ReadMoreOperation
      : public detail::BoundedTask<ReadMoreOperation, absl::StatusOr<std::size_t>> {
   public:
    ReadMoreOperation(ReadMoreOperation&&) noexcept = default;
    std::optional<absl::StatusOr<std::size_t>> try_now() { return std::nullopt; }
    Task<absl::StatusOr<std::size_t>> run(detail::AwaitBounds b) { return r_->fill_more(b, max_); }

   private:
    friend BufReader;
    ReadMoreOperation(BufReader* r, std::size_t max) noexcept : r_(r), max_(max) {}
    BufReader* r_;
    std::size_t max_;
  };

  class ReadUntilOperation
      : public detail::BoundedTask<ReadUntilOperation, absl::StatusOr<std::string>> {
   public:
    using Result = absl::StatusOr<std::string>;
    ReadUntilOperation(ReadUntilOperation&&) noexcept = default;
    std::optional<Result> try_now() {
      if (max_ == 0) return absl::InvalidArgumentError(std::string(name_) + ": max is 0");
      return scan();
    }
    Task<Result> run(detail::AwaitBounds b) {
      for (;;) {
        absl::StatusOr<std::size_t> n = co_await r_->fill_more(b, max_);
        if (!n.ok()) co_return n.status();
        if (*n == 0) {  // end of stream: the rest, without delimiter
          std::string rest(r_->buf_.view());
          r_->buf_.consume(rest.size());
          co_return rest;
        }
        if (std::optional<Result> r = scan()) co_return std::move(*r);
      }
    }

   private:
    friend BufReader;
    ReadUntilOperation(BufReader* r, char delim, std::size_t max, const char* name) noexcept
        : r_(r), delim_(delim), max_(max), name_(name) {}
    // The answer if the buffered bytes hold it; scans each byte once per call.
    std::optional<Result> scan() {
      std::string_view v = r_->buf_.view().substr(0, max_);
      std::size_t pos = v.find(delim_, scanned_);
      if (pos != std::string_view::npos) {
        std::string out(v.substr(0, pos + 1));
        r_->buf_.consume(pos + 1);
        return Result(std::move(out));
      }
      scanned_ = v.size();
      if (v.size() >= max_) {
        return absl::ResourceExhaustedError(std::string(name_) +
                                            ": no delimiter within the first " +
                                            std::to_string(max_) + " bytes");
      }
      return std::nullopt;
    }
    BufReader* r_;
    char delim_;
    std::size_t max_;
    const char* name_;
    std::size_t scanned_ = 0;  // buffered bytes known not to hold the delimiter
  };

  class ReadExactOperation : public detail::BoundedTask<ReadExactOperation, absl::Status> {
   public:
    ReadExactOperation(ReadExactOperation&&) noexcept = default;
    std::optional<absl::Status> try_now() {
      if (out_.empty()) return absl::InvalidArgumentError("read_exact: 0 bytes asked for");
      return take();
    }
    Task<absl::Status> run(detail::AwaitBounds b) {
      for (;;) {
        absl::StatusOr<std::size_t> n = co_await r_->fill_more(b, out_.size());
        if (!n.ok()) co_return n.status();
        if (*n == 0) co_return r_->ended_early(out_.size());
        if (std::optional<absl::Status> r = take()) co_return *r;
      }
    }

   private:
    friend BufReader;
    ReadExactOperation(BufReader* r, std::span<std::byte> out) noexcept : r_(r), out_(out) {}
    std::optional<absl::Status> take() {
      if (r_->buf_.size() < out_.size()) return std::nullopt;
      std::memcpy(out_.data(), r_->buf_.data(), out_.size());
      r_->buf_.consume(out_.size());
      return absl::OkStatus();
    }
    BufReader* r_;
    std::span<std::byte> out_;
  };

  class ReadExactStringOperation
      : public detail::BoundedTask<ReadExactStringOperation, absl::StatusOr<std::string>> {
   public:
    using Result = absl::StatusOr<std::string>;
    ReadExactStringOperation(ReadExactStringOperation&&) noexcept = default;
    std::optional<Result> try_now() {
      if (n_ == 0) return absl::InvalidArgumentError("read_exact: 0 bytes asked for");
      return take();
    }
    Task<Result> run(detail::AwaitBounds b) {
      for (;;) {
        absl::StatusOr<std::size_t> n = co_await r_->fill_more(b, n_);
        if (!n.ok()) co_return n.status();
        if (*n == 0) co_return r_->ended_early(n_);
        if (std::optional<Result> r = take()) co_return std::move(*r);
      }
    }

   private:
    friend BufReader;
    ReadExactStringOperation(BufReader* r, std::size_t n) noexcept : r_(r), n_(n) {}
    std::optional<Result> take() {
      if (r_->buf_.size() < n_) return std::nullopt;
      std::string out(r_->buf_.view().substr(0, n_));
      r_->buf_.consume(n_);
      return Result(std::move(out));
    }
    BufReader* r_;
    std::size_t n_;
  };

 private:
  static constexpr std::size_t kUnlimited = std::numeric_limits<std::size_t>::max();

  absl::Status ended_early(std::size_t want) const {
    return absl::OutOfRangeError("read_exact: the stream ended after " +
                                 std::to_string(buf_.size()) + " of " + std::to_string(want) +
                                 " bytes");
  }

  // One read from the stream, appended to the buffered bytes. With nothing buffered it reads
  // straight into buf_ (a destroyed read then takes only empty storage); otherwise into scratch_,
  // so that buf_ never leaves the reader while it holds bytes.
  Task<absl::StatusOr<std::size_t>> fill_more(detail::AwaitBounds b, std::size_t max_buffered) {
    if (buf_.empty()) {
      buf_.clear();
      if (buf_.capacity() < capacity_) buf_ = Buffer(capacity_);  // taken by a destroyed read
      co_return co_await detail::with_bounds(read_some(*stream_, buf_), b);
    }
    if (buf_.size() >= max_buffered) {
      co_return absl::ResourceExhaustedError("read_more: " + std::to_string(buf_.size()) +
                                             " bytes are buffered already (the limit)");
    }
    if (scratch_.capacity() < capacity_) scratch_ = Buffer(capacity_);
    scratch_.clear();
    absl::StatusOr<std::size_t> n = co_await detail::with_bounds(read_some(*stream_, scratch_), b);
    if (!n.ok() || *n == 0) co_return n;
    make_room(scratch_.size());
    buf_.append(scratch_.bytes());
    scratch_.clear();
    co_return n;
  }

  // Room for n more bytes after the buffered ones: compacts, or moves to a larger buffer.
  void make_room(std::size_t n) {
    if (buf_.spare() >= n) return;
    if (buf_.spare() + buf_.consumed() >= n) {
      buf_.compact();
      return;
    }
    Buffer bigger(std::max(buf_.capacity() * 2, buf_.size() + n));
    bigger.append(buf_.bytes());
    buf_ = std::move(bigger);
  }

  S* stream_;
  std::size_t capacity_;
  Buffer buf_;      // the buffered bytes: [data(), data() + size())
  Buffer scratch_;  // what a read lands in while buf_ holds bytes
};

}  // namespace executor::io
