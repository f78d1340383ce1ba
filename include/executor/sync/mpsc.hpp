// executor::sync::mpsc: a bounded multi-producer, single-consumer channel.
//
// Example:
//   auto [tx, rx] = executor::sync::mpsc::channel<Job>(64);
//   auto tx2 = tx.clone();
//   Job j = make_job();
//   auto sent = co_await tx.send(std::move(j));  // Result<void, SendError>
//   if (!sent) { /* closed: j is still ours */ }
//   while (std::optional<Job> job = co_await rx.recv()) run(*job);   // ends when closed+drained
//
// Design
// ------
// One allocation per channel holds the shared state and a ring buffer of `capacity` slots.
// One short Lock (sync/detail/lock.hpp) guards all of it: the ring, the FIFO list of senders
// waiting for space (nodes in their frames, pointing at the caller's value), the single
// receiver waiter, the sender count and the closed flag. Transitions (function performing
// each), wakes always after unlocking:
//
//   send:     room and nobody queued -> move the value into the ring; wake a waiting receiver
//             full (or others queued) -> queue the sender (FIFO) and suspend
//   recv:     item -> take it; if a sender is queued, reserve the freed slot for it and wake
//             it (refill_locked: kReserved) | empty, open -> register and suspend
//             | empty, closed (receiver closed it, or every Sender is gone) -> empty optional
//   send resumes with a reservation (SendOperation::await_resume): open -> move its value into
//             the ring, wake a waiting receiver (its send completed) | closed -> kClosed
//   a sender destroyed holding a reservation (~SendOperation): pass the slot on to the next
//             queued sender; the value was never moved
// A reservation keeps its slot counted (len_ + reserved_ <= cap_), so no one else takes it.
//   close (Receiver::close or ~Receiver): refuse further sends; wake every queued sender with
//             kClosed (its value untouched); items already in the ring stay receivable
//   ~Sender:  the last one wakes a waiting receiver (it will see the channel closed)
//
// Thread safety: Senders (clone them, one per producer, or share one between tasks) and the
// Receiver may be used from any thread; recv() must not be awaited by two tasks at once.
// Memory ordering: what a producer wrote before send() is visible to the consumer after the
// recv() that yields that value.
// Cancellation: send() and recv() are cancel-safe. Destroying a coroutine suspended in send()
// (executor::timeout(d, tx.send(std::move(v))) at its deadline, say) unlinks it and leaves the
// value in the caller's variable: a suspended send moves the value only when its coroutine
// resumes, so either it yielded success (the value is in the channel) or `v` is untouched.
// Destroying a coroutine suspended in recv() loses nothing: the item stays in the channel for
// the next recv(). (An item a recv() has *returned* is the caller's: a combinator that drops a
// finished child's result, like when_any's losers, drops it; see when_any.hpp.)
// Errors: send() yields SendError::kClosed (value untouched) once the receiver closed or was
// destroyed; try_send() yields kFull or kClosed (value untouched). channel(0) is invalid:
// std::invalid_argument (fatal without exceptions). The channel's one allocation comes from the
// runtime's frame allocator: std::bad_alloc (a trap without exceptions) if it is exhausted.
#pragma once

#include <coroutine>
#include <cstddef>
#include <new>
#include <optional>
#include <type_traits>
#include <utility>

#include <executor/detail/config.hpp>
#include <executor/detail/frame_allocator.hpp>
#include <executor/detail/task_header.hpp>
#include <executor/sync/detail/lock.hpp>
#include <executor/sync/detail/waiter_list.hpp>
#include <executor/sync/detail/wake_batch.hpp>
#include <executor/sync/result.hpp>
#include <executor/task.hpp>
#if EXECUTOR_HAS_EXCEPTIONS
#include <stdexcept>
#endif

namespace executor::sync::mpsc {

enum class SendError : unsigned char { kClosed };
enum class TrySendError : unsigned char { kFull, kClosed };

template <class T>
class Sender;
template <class T>
class Receiver;
template <class T>
class SendOperation;
template <class T>
class RecvOperation;
template <class T>
struct Channel;
template <class T>
Channel<T> channel(std::size_t capacity);

namespace detail {

struct SendWaiter : sync::detail::ListNode {
  // kReserved: woken with a slot reserved for it; the value is still the caller's.
  enum State : unsigned char { kNew, kWaiting, kReserved, kSent, kClosed };
  executor::detail::Waker waker;
  void* value = nullptr;  // T*: the caller's variable
  State state = kNew;
};

template <class T>
class State {
 public:
  explicit State(std::size_t capacity) noexcept : cap_(capacity) {}
  State(const State&) = delete;
  State& operator=(const State&) = delete;
  ~State() {
    while (len_ > 0) pop_slot().~T();
  }

  static State* create(std::size_t capacity) {
    if (capacity == 0) {
#if EXECUTOR_HAS_EXCEPTIONS
      throw std::invalid_argument("executor::sync::mpsc::channel: capacity must be at least 1");
#else
      executor::detail::fatal("executor::sync::mpsc::channel: capacity must be at least 1");
#endif
    }
    void* mem = executor::detail::allocate_frame(bytes(capacity));
    if (mem == nullptr) executor::detail::throw_bad_alloc();
    return ::new (mem) State(capacity);
  }
  static std::size_t bytes(std::size_t capacity) noexcept {
    return slots_offset() + capacity * sizeof(T);
  }

  // --- all of the following run under lock_ ---

  bool full() const noexcept {
    return len_ + reserved_ == cap_;
  }
  T* slot(std::size_t i) noexcept {
    return std::launder(
        reinterpret_cast<T*>(reinterpret_cast<unsigned char*>(this) + slots_offset()) + i);
  }
  void push_slot(T&& v) {
    ::new (static_cast<void*>(slot((head_ + len_) % cap_))) T(std::move(v));
    ++len_;
  }
  // Moves the front item out (the caller destroys the moved-from slot by the returned ref).
  T& pop_slot() noexcept {
    T& v = *slot(head_);
    head_ = (head_ + 1) % cap_;
    --len_;
    return v;
  }

  // Reserves the slot a recv just freed (or a released reservation) for the first queued
  // sender. Returns its waker.
  executor::detail::Waker refill_locked() noexcept {
    if (send_waiters_.empty() || full()) return {};
    auto* w = static_cast<SendWaiter*>(send_waiters_.pop_front());
    ++reserved_;
    w->state = SendWaiter::kReserved;
    return std::move(w->waker);
  }
  executor::detail::Waker take_receiver_locked() noexcept {
    if (!recv_waiting_) return {};
    recv_waiting_ = false;
    return std::move(recv_waker_);
  }
  bool receivable_closed_locked() const noexcept {
    return closed_ || senders_ == 0;
  }

  // Drops one reference (a Sender or the Receiver); frees the state with the last one.
  void release_ref() noexcept {
    bool last;
    {
      sync::detail::LockGuard g(lock_);
      last = --refs_ == 0;
    }
    if (last) {
      std::size_t n = bytes(cap_);
      this->~State();
      executor::detail::free_frame(this, n);
    }
  }

  // Closes the channel for senders and wakes the queued ones (batches, after unlocking).
  void close() noexcept {
    sync::detail::WakeBatch batch;
    for (bool more = true; more;) {
      {
        sync::detail::LockGuard g(lock_);
        closed_ = true;
        more = false;
        while (!send_waiters_.empty()) {
          if (batch.full()) {
            more = true;
            break;
          }
          auto* w = static_cast<SendWaiter*>(send_waiters_.pop_front());
          w->state = SendWaiter::kClosed;
          batch.add(std::move(w->waker));
        }
      }
      batch.wake_all();
    }
  }

  static constexpr std::size_t slots_offset() noexcept {
    return (sizeof(State) + alignof(T) - 1) / alignof(T) * alignof(T);
  }

  sync::detail::Lock lock_;
  const std::size_t cap_;
  std::size_t head_ = 0;
  std::size_t len_ = 0;
  std::size_t reserved_ = 0;  // slots reserved for woken senders (refill_locked)
  std::size_t senders_ = 1;
  std::size_t refs_ = 2;  // the first Sender and the Receiver
  bool closed_ = false;
  bool recv_waiting_ = false;
  sync::detail::WaiterList send_waiters_;
  executor::detail::Waker recv_waker_;
};

}  // namespace detail

// The awaiter of Sender::send(). Non-movable once awaited; lives in the awaiting frame.
template <class T>
class SendOperation : private detail::SendWaiter {
 public:
  using result_type = Result<void, SendError>;
  SendOperation(detail::State<T>* s, T* value) noexcept : s_(s) { this->value = value; }
  SendOperation(const SendOperation&) = delete;
  SendOperation& operator=(const SendOperation&) = delete;
  ~SendOperation() {
    if (!suspended_) return;
    executor::detail::Waker next;
    {
      sync::detail::LockGuard g(s_->lock_);
      if (this->state == kWaiting) s_->send_waiters_.remove(this);
      if (this->state == kReserved) {  // woken but never resumed: the value was not moved
        --s_->reserved_;
        if (!s_->closed_) next = s_->refill_locked();
      }
      this->state = kNew;
    }
    this->waker.drop();
    next.wake();
  }

  bool await_ready() const noexcept { return s_ == nullptr; }
  bool await_suspend(std::coroutine_handle<> h) {
    executor::detail::Waker rx;
    {
      sync::detail::LockGuard g(s_->lock_);
      if (s_->closed_) {
        this->state = kClosed;
        return false;
      }
      if (!s_->full() && s_->send_waiters_.empty()) {
        s_->push_slot(std::move(*static_cast<T*>(this->value)));
        this->state = kSent;
        rx = s_->take_receiver_locked();
      } else {
        this->waker = executor::detail::Waker::current(h);
        this->state = kWaiting;
        s_->send_waiters_.push_back(this);
        suspended_ = true;
        return true;
      }
    }
    rx.wake();
    return false;
  }
  // kReserved/kClosed were written under the lock before the wake (ordered by the wake/run
  // pair). A reservation is turned into the send here, on the sender's own coroutine.
  result_type await_resume() {
    if (suspended_ && this->state == kReserved) {
      executor::detail::Waker rx;
      {
        sync::detail::LockGuard g(s_->lock_);
        --s_->reserved_;
        this->state = kClosed;  // also if the move below throws (then the value is not sent)
        if (!s_->closed_) {
          s_->push_slot(std::move(*static_cast<T*>(this->value)));
          this->state = kSent;
          rx = s_->take_receiver_locked();
        }
      }
      rx.wake();
    }
    suspended_ = false;
    if (s_ != nullptr && this->state == kSent) return result_type();
    return SendError::kClosed;
  }

 private:
  detail::State<T>* s_;
  bool suspended_ = false;
};

// The awaiter of Receiver::recv(). Non-movable once awaited; lives in the awaiting frame.
template <class T>
class RecvOperation {
 public:
  explicit RecvOperation(detail::State<T>* s) noexcept : s_(s) {}
  RecvOperation(const RecvOperation&) = delete;
  RecvOperation& operator=(const RecvOperation&) = delete;
  ~RecvOperation() {
    if (!registered_) return;
    executor::detail::Waker w;
    {
      sync::detail::LockGuard g(s_->lock_);
      w = s_->take_receiver_locked();  // still registered: withdraw (else a wake is in flight)
    }
    w.drop();
  }

  bool await_ready() const noexcept { return s_ == nullptr; }
  bool await_suspend(std::coroutine_handle<> h) {
    executor::detail::Waker sender;
    {
      sync::detail::LockGuard g(s_->lock_);
      if (s_->len_ > 0) {
        take_locked(sender);
      } else if (s_->receivable_closed_locked()) {
        // nothing: closed and drained
      } else {
        if (s_->recv_waiting_) executor::detail::fatal("mpsc: two recv() at once");
        s_->recv_waker_ = executor::detail::Waker::current(h);
        s_->recv_waiting_ = true;
        registered_ = true;
        return true;
      }
    }
    sender.wake();
    return false;
  }
  std::optional<T> await_resume() {
    if (registered_) {  // woken: an item arrived, or the channel closed
      registered_ = false;
      executor::detail::Waker sender;
      {
        sync::detail::LockGuard g(s_->lock_);
        (void)s_->take_receiver_locked();  // normally already taken by the waker
        if (s_->len_ > 0) take_locked(sender);
      }
      sender.wake();
    }
    return std::move(value_);
  }

 private:
  void take_locked(executor::detail::Waker& sender) {
    T& v = s_->pop_slot();
    value_.emplace(std::move(v));
    v.~T();
    sender = s_->refill_locked();
  }
  detail::State<T>* s_;
  std::optional<T> value_;
  bool registered_ = false;
};

// A producer handle. Move-only; clone() for another producer.
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

  // Another Sender of the same channel.
  Sender clone() const noexcept {
    if (s_ == nullptr) return Sender();
    sync::detail::LockGuard g(s_->lock_);
    ++s_->senders_;
    ++s_->refs_;
    return Sender(s_);
  }

  // Waits for room, then moves `value` in (FIFO among waiting senders). Yields success, or
  // SendError::kClosed with `value` untouched. Keep `value` alive until the co_await completes.
  [[nodiscard]] SendOperation<T> send(T&& value) noexcept { return SendOperation<T>(s_, &value); }

  // Moves `value` in if there is room now; kFull / kClosed (value untouched) otherwise.
  Result<void, TrySendError> try_send(T&& value) {
    if (s_ == nullptr) return TrySendError::kClosed;
    executor::detail::Waker rx;
    {
      sync::detail::LockGuard g(s_->lock_);
      if (s_->closed_) return TrySendError::kClosed;
      if (s_->full() || !s_->send_waiters_.empty()) return TrySendError::kFull;
      s_->push_slot(std::move(value));
      rx = s_->take_receiver_locked();
    }
    rx.wake();
    return {};
  }

  // True once the receiver closed the channel or was destroyed.
  bool is_closed() const noexcept {
    if (s_ == nullptr) return true;
    sync::detail::LockGuard g(s_->lock_);
    return s_->closed_;
  }

 private:
  friend Channel<T> channel<T>(std::size_t);
  explicit Sender(detail::State<T>* s) noexcept : s_(s) {}
  void reset() noexcept {
    detail::State<T>* s = std::exchange(s_, nullptr);
    if (s == nullptr) return;
    executor::detail::Waker rx;
    {
      sync::detail::LockGuard g(s->lock_);
      if (--s->senders_ == 0) rx = s->take_receiver_locked();  // it will see "closed"
    }
    rx.wake();
    s->release_ref();
  }
  detail::State<T>* s_ = nullptr;
};

// The consumer handle. Move-only.
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

  // The next item; empty once the channel is closed (or every Sender is gone) and drained.
  [[nodiscard]] RecvOperation<T> recv() noexcept { return RecvOperation<T>(s_); }

  // The next item if one is buffered now.
  std::optional<T> try_recv() {
    if (s_ == nullptr) return std::nullopt;
    std::optional<T> out;
    executor::detail::Waker sender;
    {
      sync::detail::LockGuard g(s_->lock_);
      if (s_->len_ == 0) return std::nullopt;
      T& v = s_->pop_slot();
      out.emplace(std::move(v));
      v.~T();
      sender = s_->refill_locked();
    }
    sender.wake();
    return out;
  }

  // Refuses further sends (queued senders fail with kClosed, values untouched); buffered items
  // stay receivable. Idempotent.
  void close() noexcept {
    if (s_ != nullptr) s_->close();
  }

 private:
  friend Channel<T> channel<T>(std::size_t);
  explicit Receiver(detail::State<T>* s) noexcept : s_(s) {}
  void reset() noexcept {
    detail::State<T>* s = std::exchange(s_, nullptr);
    if (s == nullptr) return;
    s->close();
    s->release_ref();  // buffered items are destroyed with the state
  }
  detail::State<T>* s_ = nullptr;
};

template <class T>
struct Channel {
  Sender<T> sender;
  Receiver<T> receiver;
};

// A channel buffering up to `capacity` (>= 1) items. One allocation.
template <class T>
Channel<T> channel(std::size_t capacity) {
  detail::State<T>* s = detail::State<T>::create(capacity);
  return Channel<T>{Sender<T>(s), Receiver<T>(s)};
}

}  // namespace executor::sync::mpsc
