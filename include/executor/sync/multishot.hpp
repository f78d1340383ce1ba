// executor::sync::multishot: a reusable single-value channel. One value per round; the receiver
// starts the next round by handing out a new sender, without allocating.
//
//   auto [tx, rx] = executor::sync::multishot::channel<int>();
//   tx.send(1);                                   // any thread, never blocks
//   auto r = co_await rx.recv();                  // Result<int, RecvError>: 1
//   std::optional<Sender<int>> next = rx.sender();  // the next round
//
// Lock-free; see detail/multishot_state.hpp for the state machine and every memory ordering.
// Polling the receive does at most 2 atomic read-modify-write operations (none if the value is
// already there); sending does 1, or 2 when the receiver is waiting.
//
// Thread safety: a Sender may be used and destroyed on any thread, concurrently with the
// Receiver. The Receiver is used by one task at a time (recv() must not be awaited twice at
// once), and must outlive its pending recv() operations.
// Memory ordering: everything the sending thread wrote before send() is visible to the task
// after recv() yields the value.
// Cancellation: destroying a coroutine suspended in recv() loses nothing; a value sent
// meanwhile stays in the channel for the next recv()/try_recv().
// Errors: recv() yields RecvError::kClosed when the round's sender was destroyed without
// sending (or none exists). send() returns false if the Receiver is already gone (the value is
// destroyed). channel() throws std::bad_alloc (traps without exceptions) if the runtime's frame
// allocator is exhausted: it is the channel's only allocation.
#pragma once

#include <coroutine>
#include <cstddef>
#include <new>
#include <optional>
#include <type_traits>
#include <utility>

#include <executor/detail/frame_allocator.hpp>
#include <executor/detail/task_header.hpp>
#include <executor/sync/detail/atomic.hpp>
#include <executor/sync/detail/multishot_state.hpp>
#include <executor/sync/result.hpp>
#include <executor/task.hpp>

namespace executor::sync::multishot {

enum class RecvError : unsigned char {
  kClosed,  // the sender of this round was destroyed without sending
};
enum class TryRecvError : unsigned char {
  kEmpty,   // a sender exists but has not sent yet
  kClosed,  // as RecvError::kClosed
};

template <class T>
class Sender;
template <class T>
class Receiver;
template <class T>
struct Channel;
template <class T>
Channel<T> channel();

namespace detail {
template <class T>
using State = sync::detail::MultishotState<T, sync::detail::Atomics, executor::detail::Waker>;

template <class T>
void release_state(State<T>* s) noexcept {
  s->~State<T>();
  executor::detail::free_frame(s, sizeof(State<T>));
}
}  // namespace detail

// The sending half of one round. Move-only.
template <class T>
class Sender {
 public:
  Sender() noexcept = default;
  Sender(Sender&& o) noexcept : s_(std::exchange(o.s_, nullptr)) {}
  Sender& operator=(Sender&& o) noexcept {
    if (this != &o) {
      reset();
      s_ = std::exchange(o.s_, nullptr);
    }
    return *this;
  }
  ~Sender() { reset(); }

  bool valid() const noexcept { return s_ != nullptr; }

  // Sends the round's value and consumes the sender (it becomes empty). Never blocks; wakes the
  // receiver through the scheduler. Returns false if the Receiver is gone (or the sender is
  // empty); the value is then destroyed.
  template <class U = T>
  bool send(U&& value) noexcept(std::is_nothrow_constructible_v<T, U&&>) {
    detail::State<T>* s = std::exchange(s_, nullptr);
    if (s == nullptr) return false;
    return s->send(std::forward<U>(value));
  }

 private:
  friend class Receiver<T>;
  friend Channel<T> channel<T>();
  explicit Sender(detail::State<T>* s) noexcept : s_(s) {}
  void reset() noexcept {
    if (detail::State<T>* s = std::exchange(s_, nullptr)) s->drop_sender();
  }
  detail::State<T>* s_ = nullptr;
};

// The awaiter of Receiver::recv(). Non-movable once awaited; lives in the awaiting frame.
template <class T>
class RecvOperation {
 public:
  using result_type = Result<T, RecvError>;

  explicit RecvOperation(detail::State<T>* s) noexcept : s_(s) {}
  // Movable until awaited, so executor::timeout, when_any and run_until_cancelled can move it
  // into their child task; once suspended it never moves (it lives in the awaiting frame).
  RecvOperation(RecvOperation&& o) noexcept : s_(o.s_) {}
  RecvOperation(const RecvOperation&) = delete;
  RecvOperation& operator=(const RecvOperation&) = delete;
  ~RecvOperation() {
    if (registered_) s_->cancel_wait();
  }

  bool await_ready() {
    if (s_ == nullptr) return true;
    poll_ = s_->try_take(value_);
    return poll_ != Poll::kPending;
  }
  bool await_suspend(std::coroutine_handle<> h) {
    poll_ = s_->poll(executor::detail::Waker::current(h), value_);
    registered_ = poll_ == Poll::kPending;
    return registered_;
  }
  result_type await_resume() {
    if (registered_) {  // woken: the sender finished
      registered_ = false;
      poll_ = s_->try_take(value_);
      if (poll_ == Poll::kPending) executor::detail::fatal("multishot: woken with nothing sent");
    }
    if (s_ != nullptr && poll_ == Poll::kReady) return result_type(std::move(*value_));
    return result_type(RecvError::kClosed);
  }

 private:
  using Poll = typename detail::State<T>::Poll;
  detail::State<T>* s_;
  std::optional<T> value_;
  Poll poll_ = Poll::kClosed;
  bool registered_ = false;
};

// The receiving half; lives for the whole channel. Move-only.
template <class T>
class Receiver {
 public:
  Receiver() noexcept = default;
  Receiver(Receiver&& o) noexcept : s_(std::exchange(o.s_, nullptr)) {}
  Receiver& operator=(Receiver&& o) noexcept {
    if (this != &o) {
      reset();
      s_ = std::exchange(o.s_, nullptr);
    }
    return *this;
  }
  ~Receiver() { reset(); }

  bool valid() const noexcept { return s_ != nullptr; }

  // Waits for this round's value; RecvError::kClosed if the round's sender was destroyed
  // without sending (or there is none: call sender() to start a round). Cancellation: see top.
  [[nodiscard]] RecvOperation<T> recv() noexcept { return RecvOperation<T>(s_); }

  // The value if it is already there.
  Result<T, TryRecvError> try_recv() {
    if (s_ == nullptr) return TryRecvError::kClosed;
    std::optional<T> v;
    switch (s_->try_take(v)) {
      case detail::State<T>::Poll::kReady:
        return Result<T, TryRecvError>(std::move(*v));
      case detail::State<T>::Poll::kPending:
        return TryRecvError::kEmpty;
      default:
        return TryRecvError::kClosed;
    }
  }

  // A sender for the next round, without allocating. Empty unless the previous round is over:
  // its value was received, or its sender was destroyed without sending.
  std::optional<Sender<T>> sender() noexcept {
    if (s_ == nullptr || !s_->new_sender()) return std::nullopt;
    return Sender<T>(s_);
  }

 private:
  friend Channel<T> channel<T>();
  explicit Receiver(detail::State<T>* s) noexcept : s_(s) {}
  void reset() noexcept {
    if (detail::State<T>* s = std::exchange(s_, nullptr)) s->drop_receiver();
  }
  detail::State<T>* s_ = nullptr;
};

template <class T>
struct Channel {
  Sender<T> sender;
  Receiver<T> receiver;
};

// A new channel with the sender of its first round. One allocation (from the runtime's frame
// allocator), freed when both the Receiver and the last Sender are gone.
template <class T>
Channel<T> channel() {
  void* mem = executor::detail::allocate_frame(sizeof(detail::State<T>));
  if (mem == nullptr) executor::detail::throw_bad_alloc();
  auto* s = ::new (mem) detail::State<T>(&detail::release_state<T>);
  return Channel<T>{Sender<T>(s), Receiver<T>(s)};
}

}  // namespace executor::sync::multishot
