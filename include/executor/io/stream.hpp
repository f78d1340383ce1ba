// The stream concepts of the buffered I/O layer: what io::BufReader reads from and io::BufWriter
// writes to.
//
//   io::ReadStream  S: `s.recv(buf)` or `s.read(buf)` — one read appending into buf's spare room,
//                   yielding absl::StatusOr<std::size_t> (0: end of stream)
//   io::WriteStream S: `s.send(buf)` or `s.write(buf)` — one write of buf's data, yielding the
//                   bytes written
//
// and both operations take the bounds builders `.deadline(t)` and `.cancel_on(token)`.
// io::TcpStream (recv/send) and io::File (read/write at the current position: pipes, FIFOs,
// character devices, or a regular file read sequentially) are both; so is a type of yours with the
// same members. io::read_some(s, buf) / io::write_some(s, buf) call whichever member the stream
// has.
//
// Thread safety, Cancellation, Errors: those of the stream's operations
// (<executor/io/operation.hpp> for executor's own).
//
// Example:
//   static_assert(io::ReadStream<io::TcpStream> && io::WriteStream<io::File>);
#pragma once

#include <chrono>
#include <concepts>
#include <cstddef>

#include <absl/status/statusor.h>

#include <executor/cancellation_token.hpp>
#include <executor/detail/race.hpp>
#include <executor/io/buffer.hpp>

namespace executor::detail {
template <class Op>
concept BoundedTransfer = requires(Op op, std::chrono::steady_clock::time_point t,
                                   const CancellationToken& token) {
  std::move(op).deadline(t);
  std::move(op).cancel_on(token);
  requires std::same_as<await_result_t<Op>, absl::StatusOr<std::size_t>>;
};
}  // namespace executor::detail

namespace executor::io {

template <class S>
concept HasRecv = requires(S& s, Buffer& buf) {
  s.recv(buf);
};
template <class S>
concept HasSend = requires(S& s, Buffer& buf) {
  s.send(buf);
};

template <class S>
requires HasRecv<S> || requires(S& s, Buffer& buf) {
  s.read(buf);
}
decltype(auto) read_some(S& s, Buffer& buf) {
  if constexpr (HasRecv<S>) {
    return s.recv(buf);
  } else {
    return s.read(buf);
  }
}

template <class S>
requires HasSend<S> || requires(S& s, Buffer& buf) {
  s.write(buf);
}
decltype(auto) write_some(S& s, Buffer& buf) {
  if constexpr (HasSend<S>) {
    return s.send(buf);
  } else {
    return s.write(buf);
  }
}

template <class S>
concept ReadStream = requires(S& s, Buffer& buf) {
  { io::read_some(s, buf) } -> detail::BoundedTransfer;
};

template <class S>
concept WriteStream = requires(S& s, Buffer& buf) {
  { io::write_some(s, buf) } -> detail::BoundedTransfer;
};

}  // namespace executor::io
