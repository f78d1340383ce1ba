// executor::sync::oneshot: a channel for exactly one value (a reply, a completion).
//
//   auto [tx, rx] = executor::sync::oneshot::channel<Reply>();
//   spawn(handle_request, std::move(tx));          // there: tx.send(reply);  (any thread)
//   executor::sync::Result<Reply, oneshot::RecvError> r = co_await std::move(rx);
//
// It is the first round of a multishot channel (sync/multishot.hpp) without the API to start
// further rounds, so it shares that channel's lock-free state machine, costs and promises:
// one allocation per channel; send() is 1 atomic RMW (2 if the receiver waits), never blocks
// and returns false if the Receiver is gone (the value is then destroyed).
//
// Thread safety: the Sender may be used and destroyed on any thread; the Receiver is awaited by
// one task. Memory ordering: what the sender wrote before send() is visible after the receive.
// Cancellation: destroying a coroutine suspended on the Receiver loses nothing: a value sent
// later stays in the channel (try_recv() or a new co_await get it).
// Errors: RecvError::kClosed when the Sender was destroyed without sending.
#pragma once

#include <utility>

#include <executor/sync/multishot.hpp>
#include <executor/sync/result.hpp>

namespace executor::sync::oneshot {

using RecvError = multishot::RecvError;
using TryRecvError = multishot::TryRecvError;

// Sends the one value: `tx.send(v)` (consumes the sender). Destroying it unsent closes the
// channel.
template <class T>
using Sender = multishot::Sender<T>;

template <class T>
class Receiver {
 public:
  Receiver() noexcept = default;
  explicit Receiver(multishot::Receiver<T> rx) noexcept : rx_(std::move(rx)) {}

  bool valid() const noexcept { return rx_.valid(); }
  // Waits for the value: Result<T, RecvError>.
  multishot::RecvOperation<T> operator co_await() & noexcept { return rx_.recv(); }
  multishot::RecvOperation<T> operator co_await() && noexcept { return rx_.recv(); }
  // The same wait as an awaiter of its own, for the combinators:
  // `co_await executor::timeout(1s, rx.recv())` keeps the Receiver (and a value sent later).
  [[nodiscard]] multishot::RecvOperation<T> recv() noexcept { return rx_.recv(); }
  // The value if it was already sent; kEmpty or kClosed otherwise.
  Result<T, TryRecvError> try_recv() { return rx_.try_recv(); }

 private:
  multishot::Receiver<T> rx_;
};

template <class T>
struct Channel {
  Sender<T> sender;
  Receiver<T> receiver;
};

template <class T>
Channel<T> channel() {
  auto ch = multishot::channel<T>();
  return Channel<T>{std::move(ch.sender), Receiver<T>(std::move(ch.receiver))};
}

}  // namespace executor::sync::oneshot
