// Frames over a byte stream: line-delimited (io::LinesCodec) and length-prefixed
// (io::LengthDelimitedCodec), read with io::FramedReader and written with io::FramedWriter —
// what tokio-util's LinesCodec / LengthDelimitedCodec with FramedRead / FramedWrite give.
//
//   io::FramedReader<io::TcpStream, io::LinesCodec> lines(conn, io::LinesCodec(1024));
//   io::FramedWriter<io::TcpStream, io::LinesCodec> replies(conn);
//   for (;;) {
//     absl::StatusOr<std::optional<std::string>> line = co_await lines.next().timeout(30s);
//     if (!line.ok() || !line->has_value()) break;          // error / timeout, or the peer closed
//     co_await replies.send(**line);                         // "\n" added
//     co_await replies.flush();
//   }
//
// A codec turns buffered bytes into frames and frames into bytes:
//   absl::StatusOr<Decoded> decode(std::span<const std::byte> buffered);
//       a frame from the front of `buffered` and the bytes it used, or nothing yet (consumed 0:
//       more bytes needed; consumed > 0: bytes skipped, call again)
//   absl::StatusOr<std::optional<std::string>> decode_eof(std::span<const std::byte> buffered);
//       the last frame once the stream has ended (nullopt: a clean end)
//   absl::Status encode(std::string_view frame, std::string& out);   appends the frame's bytes
// A codec is stateful (where it stopped scanning; whether it is skipping an oversized frame) and
// belongs to one reader.
//
// LinesCodec(max_length): a frame is a line without its "\n" (and without a "\r" before it); at
// the end of the stream a last line without "\n" is a frame. A line longer than max_length bytes
// is kResourceExhausted once, and the codec skips the rest of it: the next frame is the next line.
// encode appends "\n"; a frame containing "\n" or longer than max_length is kInvalidArgument.
//
// LengthDelimitedCodec({length_bytes, big_endian, max_frame_length}): a frame is an unsigned
// length of length_bytes bytes (1, 2, 4 or 8; big-endian unless told otherwise) followed by that
// many bytes of payload. A length above max_frame_length is kResourceExhausted once, and the
// codec skips that frame's payload: the next frame is the one after it. A stream that ends inside
// a frame is kDataLoss. encode: a payload above max_frame_length (or one the length field cannot
// represent) is kInvalidArgument.
//
// Cancellation and timeouts: FramedReader::next() keeps every byte of an incomplete frame
// buffered (it is a io::BufReader underneath), so a next() that timed out, was cancelled or was
// destroyed loses nothing: the next call returns the frame. FramedWriter::send() and flush() are
// io::BufWriter's write() and flush(), with the same guarantees.
// Thread safety: one task uses a FramedReader at a time, one a FramedWriter; the two may share a
// stream. The stream must outlive them.
// Errors: the stream's, unchanged; the codec's, as above. After a codec error the reader stays
// usable (the offending bytes are skipped); after a stream error, what was buffered stays.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include <absl/status/status.h>
#include <absl/status/statusor.h>

#include <executor/detail/bounded_task.hpp>
#include <executor/io/buf_reader.hpp>
#include <executor/io/buf_writer.hpp>
#include <executor/io/stream.hpp>
#include <executor/task.hpp>

namespace executor::io {

// What a codec made of the buffered bytes.
struct Decoded {
  std::size_t consumed = 0;          // bytes to drop from the front
  std::optional<std::string> frame;  // a whole frame, or nothing yet
};

class LinesCodec {
 public:
  static constexpr std::size_t kDefaultMaxLength = 64 * 1024;
  explicit LinesCodec(std::size_t max_length = kDefaultMaxLength) noexcept
      : max_(max_length == 0 ? 1 : max_length) {}

  std::size_t max_length() const noexcept { return max_; }

  absl::StatusOr<Decoded> decode(std::span<const std::byte> in) {
    std::string_view v(reinterpret_cast<const char*>(in.data()), in.size());
    std::size_t pos = v.find('\n', next_);
    if (discarding_) {
      next_ = 0;
      if (pos == std::string_view::npos) return Decoded{v.size(), std::nullopt};
      discarding_ = false;
      return Decoded{pos + 1, std::nullopt};
    }
    if (pos == std::string_view::npos) {
      // A "\r" may still come before the "\n": a line of max_ bytes needs max_ + 1 buffered.
      if (v.size() > max_ + 1) {
        discarding_ = true;
        next_ = 0;
        return too_long(v.size());
      }
      next_ = v.size();
      return Decoded{};
    }
    next_ = 0;
    std::string_view line = v.substr(0, pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.size() > max_) {
      // Skip it (the "\n" included) on the next call.
      discarding_ = true;
      return too_long(line.size());
    }
    return Decoded{pos + 1, std::string(line)};
  }

  absl::StatusOr<std::optional<std::string>> decode_eof(std::span<const std::byte> in) {
    std::string_view v(reinterpret_cast<const char*>(in.data()), in.size());
    next_ = 0;
    if (discarding_ || v.empty()) {
      discarding_ = false;
      return std::optional<std::string>();
    }
    if (!v.empty() && v.back() == '\r') v.remove_suffix(1);
    if (v.size() > max_) return too_long(v.size()).status();
    return std::optional<std::string>(std::string(v));
  }

  absl::Status encode(std::string_view frame, std::string& out) const {
    if (frame.find('\n') != std::string_view::npos) {
      return absl::InvalidArgumentError("LinesCodec::encode: the line contains a \"\\n\"");
    }
    if (frame.size() > max_) {
      return absl::InvalidArgumentError("LinesCodec::encode: the line is longer than " +
                                        std::to_string(max_) + " bytes");
    }
    out.append(frame);
    out.push_back('\n');
    return absl::OkStatus();
  }

 private:
  absl::StatusOr<Decoded> too_long(std::size_t n) const {
    return absl::ResourceExhaustedError("LinesCodec: a line of more than " + std::to_string(max_) +
                                        " bytes (" + std::to_string(n) +
                                        " so far); skipping to the next line");
  }
  std::size_t max_;
  std::size_t next_ = 0;  // buffered bytes already scanned for "\n"
  bool discarding_ = false;
};

struct LengthDelimitedOptions {
  std::size_t length_bytes = 4;  // 1, 2, 4 or 8
  bool big_endian = true;
  std::size_t max_frame_length = 8 * 1024 * 1024;
};

class LengthDelimitedCodec {
 public:
  // length_bytes other than 1, 2, 4, 8 is taken as 4.
  explicit LengthDelimitedCodec(LengthDelimitedOptions o = {}) noexcept : o_(o) {
    if (o_.length_bytes != 1 && o_.length_bytes != 2 && o_.length_bytes != 8) o_.length_bytes = 4;
  }
  const LengthDelimitedOptions& options() const noexcept { return o_; }

  absl::StatusOr<Decoded> decode(std::span<const std::byte> in) {
    if (skip_ > 0) {
      std::size_t k = static_cast<std::size_t>(std::min<std::uint64_t>(skip_, in.size()));
      skip_ -= k;
      return Decoded{k, std::nullopt};
    }
    if (in.size() < o_.length_bytes) return Decoded{};
    std::uint64_t len = read_length(in);
    if (len > o_.max_frame_length) {
      skip_ = len + o_.length_bytes;  // dropped by the next calls, the length field first
      return absl::ResourceExhaustedError("LengthDelimitedCodec: a frame of " +
                                          std::to_string(len) + " bytes (the limit is " +
                                          std::to_string(o_.max_frame_length) + "); skipping it");
    }
    if (in.size() - o_.length_bytes < len) return Decoded{};
    const char* p = reinterpret_cast<const char*>(in.data()) + o_.length_bytes;
    return Decoded{o_.length_bytes + static_cast<std::size_t>(len),
                   std::string(p, static_cast<std::size_t>(len))};
  }

  absl::StatusOr<std::optional<std::string>> decode_eof(std::span<const std::byte> in) {
    if (in.empty() && skip_ == 0) return std::optional<std::string>();
    std::uint64_t want =
        skip_ > 0
            ? skip_
            : (in.size() >= o_.length_bytes ? read_length(in) + o_.length_bytes : o_.length_bytes);
    return absl::DataLossError("LengthDelimitedCodec: the stream ended inside a frame (" +
                               std::to_string(in.size()) + " of " + std::to_string(want) +
                               " bytes)");
  }

  absl::Status encode(std::string_view frame, std::string& out) const {
    if (frame.size() > o_.max_frame_length) {
      return absl::InvalidArgumentError("LengthDelimitedCodec::encode: a frame of " +
                                        std::to_string(frame.size()) + " bytes (the limit is " +
                                        std::to_string(o_.max_frame_length) + ")");
    }
    if (o_.length_bytes < 8 &&
        static_cast<std::uint64_t>(frame.size()) >> (8 * o_.length_bytes) != 0) {
      return absl::InvalidArgumentError(
          "LengthDelimitedCodec::encode: " + std::to_string(frame.size()) + " does not fit in " +
          std::to_string(o_.length_bytes) + " length bytes");
    }
    std::uint64_t len = frame.size();
    for (std::size_t i = 0; i < o_.length_bytes; ++i) {
      std::size_t shift = o_.big_endian ? 8 * (o_.length_bytes - 1 - i) : 8 * i;
      out.push_back(static_cast<char>((len >> shift) & 0xff));
    }
    out.append(frame);
    return absl::OkStatus();
  }

 private:
  std::uint64_t read_length(std::span<const std::byte> in) const noexcept {
    std::uint64_t len = 0;
    for (std::size_t i = 0; i < o_.length_bytes; ++i) {
      std::size_t shift = o_.big_endian ? 8 * (o_.length_bytes - 1 - i) : 8 * i;
      len |= static_cast<std::uint64_t>(std::to_integer<unsigned>(in[i])) << shift;
    }
    return len;
  }
  LengthDelimitedOptions o_;
  std::uint64_t skip_ = 0;  // payload bytes of an oversized frame still to drop
};

template <ReadStream S, class Codec>
class FramedReader {
 public:
  explicit FramedReader(S& stream, Codec codec = Codec(),
                        std::size_t capacity = BufReader<S>::kDefaultCapacity)
      : reader_(stream, capacity), codec_(std::move(codec)) {}

  BufReader<S>& reader() noexcept { return reader_; }
  Codec& codec() noexcept { return codec_; }

  class NextOperation;
  // The next frame; nullopt once the stream has ended cleanly.
  [[nodiscard]] NextOperation next() noexcept { return NextOperation(this); }

  class NextOperation
      : public detail::BoundedTask<NextOperation, absl::StatusOr<std::optional<std::string>>> {
   public:
    using Result = absl::StatusOr<std::optional<std::string>>;
    NextOperation(NextOperation&&) noexcept = default;
    std::optional<Result> try_now() { return f_->decode_buffered(); }
    Task<Result> run(detail::AwaitBounds b) {
      for (;;) {
        absl::StatusOr<std::size_t> n = co_await detail::with_bounds(f_->reader_.read_more(), b);
        if (!n.ok()) co_return n.status();
        if (*n == 0) {
          Result last = f_->codec_.decode_eof(f_->reader_.buffer());
          if (last.ok()) f_->reader_.consume(f_->reader_.buffer().size());
          co_return last;
        }
        if (std::optional<Result> r = f_->decode_buffered()) co_return std::move(*r);
      }
    }

   private:
    friend FramedReader;
    explicit NextOperation(FramedReader* f) noexcept : f_(f) {}
    FramedReader* f_;
  };

 private:
  // A frame (or a codec error) from the buffered bytes; nullopt: more bytes needed.
  std::optional<typename NextOperation::Result> decode_buffered() {
    for (;;) {
      absl::StatusOr<Decoded> d = codec_.decode(reader_.buffer());
      if (!d.ok()) return d.status();
      reader_.consume(d->consumed);
      if (d->frame.has_value()) return std::optional<std::string>(std::move(*d->frame));
      if (d->consumed == 0) return std::nullopt;
    }
  }

  BufReader<S> reader_;
  Codec codec_;
};

template <WriteStream S, class Codec>
class FramedWriter {
 public:
  explicit FramedWriter(S& stream, Codec codec = Codec(),
                        std::size_t capacity = BufWriter<S>::kDefaultCapacity,
                        std::size_t flush_threshold = 0)
      : writer_(stream, capacity, flush_threshold), codec_(std::move(codec)) {}

  BufWriter<S>& writer() noexcept { return writer_; }
  Codec& codec() noexcept { return codec_; }

  class SendOperation;
  // Encodes `frame` (copied at once) and buffers it, flushing as BufWriter::write does.
  [[nodiscard]] SendOperation send(std::string_view frame) {
    encoded_.clear();
    absl::Status s = codec_.encode(frame, encoded_);
    return SendOperation(this, std::move(s));
  }
  [[nodiscard]] typename BufWriter<S>::FlushOperation flush() noexcept { return writer_.flush(); }

  class SendOperation : public detail::BoundedTask<SendOperation, absl::Status> {
   public:
    SendOperation(SendOperation&&) noexcept = default;
    std::optional<absl::Status> try_now() {
      if (!encoded_.ok()) return encoded_;
      return f_->writer_.write(f_->encoded_).try_now();  // buffered at once if it fits
    }
    Task<absl::Status> run(detail::AwaitBounds b) {
      co_return co_await detail::with_bounds(f_->writer_.write(f_->encoded_), b);
    }

   private:
    friend FramedWriter;
    SendOperation(FramedWriter* f, absl::Status encoded) noexcept
        : f_(f), encoded_(std::move(encoded)) {}
    FramedWriter* f_;
    absl::Status encoded_;
  };

 private:
  BufWriter<S> writer_;
  Codec codec_;
  std::string encoded_;  // the frame send() encoded last
};

}  // namespace executor::io
