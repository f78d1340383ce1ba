// executor::sync::Handoff<T>: a rendezvous with no storage. A pusher and a popper wait for each
// other; the value moves from the pusher's variable to the popper without a buffer in between.
//
//   executor::sync::Handoff<int> h;
//   auto [pusher, popper] = h.split();
//   // task A:                                   // task B:
//   int v = 42;                                  std::optional<int> r = co_await popper.pop();
//   bool taken = co_await pusher.push(std::move(v));
//
// Design
// ------
// The Handoff holds one pointer (the waiting operation, if any) and two bytes: a state
// (IDLE, PUSH_WAITING, POP_WAITING) and flags (which ends are alive, which operations are
// active). The operations are intrusive nodes in the awaiting coroutine frames:
//
//   IDLE --push.await_suspend--> PUSH_WAITING --pop/try_pop takes the value--> IDLE
//   IDLE --pop.await_suspend---> POP_WAITING  --push/try_push delivers-------> IDLE
//
// A push that finds a waiting pop moves the value into that pop's frame and stays suspended
// until the popper resumes and takes it (the push is "delivered"). If the popping coroutine is
// destroyed before it resumes, its destructor moves the value back into the pusher's variable
// and re-links the push as PUSH_WAITING, so nothing is lost and nothing is duplicated. A pop
// that finds a waiting push moves the value out of the pusher's variable at once and wakes the
// pusher (the push is complete even if its coroutine never resumes).
//
// Thread safety: NONE, by design: every operation on a Handoff, its ends and its operations
// must happen on one thread (a single-worker Runtime, or the Cortex-M executor's thread mode;
// not from interrupt handlers). Debug builds abort with a message when a second thread touches
// it. Use multishot or sync::channel between threads.
//
// Cancellation: destroying a coroutine suspended in push() leaves the value in the variable
// it passed (moved-from only if a popper took it). Destroying a coroutine suspended in pop()
// loses nothing: a value it was handed goes back to the suspended pusher. The single exception
// is a value that no coroutine owns any more: after try_push() (which hands the value to a
// waiting popper and returns) or after the pushing coroutine was also destroyed, a popping
// coroutine destroyed before it resumes destroys the value with its frame.
//
// Errors: push() yields false (value untouched) when the Popper is gone; pop() yields an empty
// optional when the Pusher is gone. Two operations of the same kind at once (two coroutines
// pushing through one Pusher), a second split() while the ends live, or destroying a Handoff
// whose ends live are programming errors: executor::detail::fatal with a message.
//
// Memory ordering: single-threaded; the wake of the other side goes through the scheduler.
// Memory: sizeof(Handoff<T>) is two pointers in release builds; no allocation.
#pragma once

#include <coroutine>
#include <cstdint>
#include <new>
#include <optional>
#include <type_traits>
#include <utility>

#include <executor/detail/task_header.hpp>
#include <executor/sync/detail/debug.hpp>

namespace executor::sync {

template <class T>
class Handoff;
template <class T>
class Pusher;
template <class T>
class Popper;
template <class T>
class PushOperation;
template <class T>
class PopOperation;

namespace detail {
struct Unit {};
template <class T>
using HandoffValue = std::conditional_t<std::is_void_v<T>, Unit, T>;
}  // namespace detail

template <class T>
class Handoff {
 public:
  Handoff() noexcept = default;
  Handoff(const Handoff&) = delete;
  Handoff& operator=(const Handoff&) = delete;
  ~Handoff() {
    if ((flags_ & (kPusherAlive | kPopperAlive)) != 0) {
      executor::detail::fatal("executor::sync::Handoff destroyed while its Pusher or Popper lives");
    }
  }

  struct Ends {
    Pusher<T> pusher;
    Popper<T> popper;
  };
  // The only Pusher and Popper of this Handoff. Calling split() again while either end lives is
  // a programming error (fatal); once both are destroyed, split() may be called again.
  [[nodiscard]] Ends split() noexcept {
    affinity_.check("executor::sync::Handoff used from two threads (it is not thread-safe)");
    if ((flags_ & (kPusherAlive | kPopperAlive)) != 0) {
      executor::detail::fatal("executor::sync::Handoff::split() while its ends are alive");
    }
    flags_ |= kPusherAlive | kPopperAlive;
    return Ends{Pusher<T>(this), Popper<T>(this)};
  }

 private:
  friend class Pusher<T>;
  friend class Popper<T>;
  friend class PushOperation<T>;
  friend class PopOperation<T>;
  using Value = detail::HandoffValue<T>;

  enum : std::uint8_t { kIdle, kPushWaiting, kPopWaiting };
  enum : std::uint8_t {
    kPusherAlive = 1,
    kPopperAlive = 2,
    kPushActive = 4,  // a push is linked or delivered
    kPopActive = 8,   // a pop is linked or holds a delivered value
  };

  void check_thread() noexcept {
    affinity_.check("executor::sync::Handoff used from two threads (it is not thread-safe)");
  }

  void* waiter_ = nullptr;  // PushOperation* in kPushWaiting, PopOperation* in kPopWaiting
  std::uint8_t state_ = kIdle;
  std::uint8_t flags_ = 0;
  [[no_unique_address]] detail::ThreadAffinity affinity_;
};

// The awaiter of Pusher::push(). Non-movable; lives in the awaiting frame.
template <class T>
class PushOperation {
  using H = Handoff<T>;
  using Value = typename H::Value;

 public:
  PushOperation(H* h, Value* src) noexcept : h_(h), src_(src) {}
  PushOperation(const PushOperation&) = delete;
  PushOperation& operator=(const PushOperation&) = delete;
  ~PushOperation() {
    if (state_ == kNew || state_ == kDone || state_ == kClosed) return;
    h_->check_thread();
    if (state_ == kLinked) {  // still waiting: unlink; the value never left the caller
      h_->state_ = H::kIdle;
      h_->waiter_ = nullptr;
    } else {  // kDelivered: the popper holds the value and keeps it (nothing to give back to)
      partner_->partner_ = nullptr;
    }
    h_->flags_ &= static_cast<std::uint8_t>(~H::kPushActive);
    waker_.drop();
  }

  bool await_ready() const noexcept { return h_ == nullptr; }
  bool await_suspend(std::coroutine_handle<> c) noexcept {
    h_->check_thread();
    if ((h_->flags_ & H::kPushActive) != 0) {
      executor::detail::fatal("executor::sync::Handoff: two pushes at once");
    }
    if (h_->state_ == H::kPopWaiting) {
      auto* p = static_cast<PopOperation<T>*>(h_->waiter_);
      h_->state_ = H::kIdle;
      h_->waiter_ = nullptr;
      p->deliver(take_source(), this);
      partner_ = p;
      state_ = kDelivered;
      h_->flags_ |= H::kPushActive;
      waker_ = executor::detail::Waker::current(c);
      p->waker_.wake();  // only queues the popper; it resumes after we suspend
      return true;
    }
    if ((h_->flags_ & H::kPopperAlive) == 0) {  // nobody can ever take it
      state_ = kClosed;
      return false;
    }
    waker_ = executor::detail::Waker::current(c);
    h_->state_ = H::kPushWaiting;
    h_->waiter_ = this;
    h_->flags_ |= H::kPushActive;
    state_ = kLinked;
    return true;
  }
  // True when a popper took the value (the caller's variable is moved-from); false when the
  // Popper is gone (the variable is untouched).
  bool await_resume() const noexcept { return state_ == kDone; }

 private:
  friend class PopOperation<T>;
  friend class Popper<T>;
  enum : std::uint8_t { kNew, kLinked, kDelivered, kDone, kClosed };

  Value&& take_source() noexcept {
    if constexpr (std::is_void_v<T>) {
      static Value unit;  // stateless
      return std::move(unit);
    } else {
      return std::move(*src_);
    }
  }

  // A popper took the value (called by the popping side).
  void complete(std::uint8_t final_state) noexcept {
    state_ = final_state;
    partner_ = nullptr;
    h_->flags_ &= static_cast<std::uint8_t>(~H::kPushActive);
    executor::detail::Waker w = std::move(waker_);
    w.wake();
  }

  H* h_;
  Value* src_;
  executor::detail::Waker waker_;
  PopOperation<T>* partner_ = nullptr;  // kDelivered: the pop that holds our value
  std::uint8_t state_ = kNew;
};

// The awaiter of Popper::pop(). Non-movable; lives in the awaiting frame.
template <class T>
class PopOperation {
  using H = Handoff<T>;
  using Value = typename H::Value;

 public:
  using result_type = std::conditional_t<std::is_void_v<T>, bool, std::optional<T>>;

  explicit PopOperation(H* h) noexcept : h_(h) {}
  PopOperation(const PopOperation&) = delete;
  PopOperation& operator=(const PopOperation&) = delete;
  ~PopOperation() {
    if (state_ == kLinked) {
      h_->check_thread();
      h_->state_ = H::kIdle;
      h_->waiter_ = nullptr;
      h_->flags_ &= static_cast<std::uint8_t>(~H::kPopActive);
    } else if (state_ == kHasValue) {
      h_->check_thread();
      if (PushOperation<T>* q = partner_) {
        // Give the value back to the still-suspended pusher. If a popper may still come, the
        // push waits again: the Handoff is IDLE here (the push is active, so no other push is
        // linked, and this pop is active, so no other pop is).
        if constexpr (!std::is_void_v<T>) *q->src_ = std::move(*value());
        q->partner_ = nullptr;
        if ((h_->flags_ & H::kPopperAlive) != 0) {
          q->state_ = PushOperation<T>::kLinked;
          h_->state_ = H::kPushWaiting;
          h_->waiter_ = q;
        } else {
          q->complete(PushOperation<T>::kClosed);
        }
      }
      value()->~Value();
      if (active_) h_->flags_ &= static_cast<std::uint8_t>(~H::kPopActive);
    }
    waker_.drop();
  }

  bool await_ready() const noexcept { return h_ == nullptr; }
  bool await_suspend(std::coroutine_handle<> c) noexcept {
    h_->check_thread();
    if ((h_->flags_ & H::kPopActive) != 0) {
      executor::detail::fatal("executor::sync::Handoff: two pops at once");
    }
    if (take_waiting_pusher()) return false;
    if ((h_->flags_ & H::kPusherAlive) == 0) {
      state_ = kClosed;
      return false;
    }
    waker_ = executor::detail::Waker::current(c);
    h_->state_ = H::kPopWaiting;
    h_->waiter_ = this;
    h_->flags_ |= H::kPopActive;
    active_ = true;
    state_ = kLinked;
    return true;
  }
  // The value, or empty (false for Handoff<void>) when the Pusher is gone.
  result_type await_resume() {
    if (state_ != kHasValue) {
      if (h_ != nullptr && state_ == kLinked) executor::detail::fatal("Handoff: spurious resume");
      return result_type{};
    }
    state_ = kTaken;
    if (active_) h_->flags_ &= static_cast<std::uint8_t>(~H::kPopActive);
    if (PushOperation<T>* q = std::exchange(partner_, nullptr))
      q->complete(PushOperation<T>::kDone);
    struct Destroy {
      Value* v;
      ~Destroy() { v->~Value(); }
    } destroy{value()};
    if constexpr (std::is_void_v<T>) {
      return true;
    } else {
      return result_type(std::move(*value()));
    }
  }

 private:
  friend class PushOperation<T>;
  friend class Pusher<T>;
  friend class Popper<T>;
  enum : std::uint8_t { kNew, kLinked, kHasValue, kTaken, kClosed };

  Value* value() noexcept { return std::launder(reinterpret_cast<Value*>(storage_)); }

  // Called by a push that found this pop waiting (it has already unlinked us).
  void deliver(Value&& v,
               PushOperation<T>* from) noexcept(std::is_nothrow_move_constructible_v<Value>) {
    ::new (static_cast<void*>(storage_)) Value(std::move(v));
    partner_ = from;
    state_ = kHasValue;
  }
  // A push is waiting: take its value now and wake it (the push is complete).
  bool take_waiting_pusher() {
    if (h_->state_ != H::kPushWaiting) return false;
    auto* q = static_cast<PushOperation<T>*>(h_->waiter_);
    h_->state_ = H::kIdle;
    h_->waiter_ = nullptr;
    ::new (static_cast<void*>(storage_)) Value(q->take_source());
    state_ = kHasValue;
    q->complete(PushOperation<T>::kDone);
    return true;
  }
  // Called when the Pusher is destroyed while we wait.
  void close() noexcept {
    state_ = kClosed;
    h_->flags_ &= static_cast<std::uint8_t>(~H::kPopActive);
    executor::detail::Waker w = std::move(waker_);
    w.wake();
  }

  H* h_;
  executor::detail::Waker waker_;
  PushOperation<T>* partner_ = nullptr;  // kHasValue from a delivering push still suspended
  std::uint8_t state_ = kNew;
  bool active_ = false;  // we set kPopActive
  alignas(Value) unsigned char storage_[sizeof(Value)];
};

// The push end of a Handoff. Move-only; one per split().
//
// Thread safety: none (see Handoff). Cancellation and errors: see Handoff and each function.
template <class T>
class Pusher {
  using Value = detail::HandoffValue<T>;

 public:
  Pusher() noexcept = default;
  Pusher(Pusher&& o) noexcept : h_(std::exchange(o.h_, nullptr)) {}
  Pusher& operator=(Pusher&& o) noexcept {
    if (this != &o) {
      reset();
      h_ = std::exchange(o.h_, nullptr);
    }
    return *this;
  }
  ~Pusher() { reset(); }

  bool valid() const noexcept { return h_ != nullptr; }

  // Waits until a popper has taken `value` (then yields true, and `value` is moved-from) or the
  // Popper is destroyed (false; `value` untouched). If the awaiting coroutine is destroyed
  // first, `value` is untouched unless a popper already took it. Keep `value` alive until
  // the co_await completes (a local of the awaiting coroutine or a temporary in the co_await
  // expression both are).
  [[nodiscard]] PushOperation<T> push(Value&& value) noexcept requires(!std::is_void_v<T>) {
    return PushOperation<T>(h_, &value);
  }
  [[nodiscard]] PushOperation<T> push() noexcept requires(std::is_void_v<T>) {
    return PushOperation<T>(h_, nullptr);
  }

  // Hands `value` to a popper that is already waiting; false (value untouched) otherwise.
  // The popper is woken through the scheduler. See Handoff for the cancellation caveat.
  bool try_push(Value&& value) noexcept(std::is_nothrow_move_constructible_v<Value>) requires(
      !std::is_void_v<T>) {
    return try_push_impl(value);
  }
  bool try_push() noexcept requires(std::is_void_v<T>) {
    Value u;
    return try_push_impl(u);
  }

 private:
  friend class Handoff<T>;
  explicit Pusher(Handoff<T>* h) noexcept : h_(h) {}

  bool try_push_impl(Value& value) {
    if (h_ == nullptr) return false;
    h_->check_thread();
    if (h_->state_ != Handoff<T>::kPopWaiting) return false;
    auto* p = static_cast<PopOperation<T>*>(h_->waiter_);
    h_->state_ = Handoff<T>::kIdle;
    h_->waiter_ = nullptr;
    p->deliver(std::move(value), nullptr);
    executor::detail::Waker w = std::move(p->waker_);
    w.wake();
    return true;
  }
  void reset() noexcept {
    Handoff<T>* h = std::exchange(h_, nullptr);
    if (h == nullptr) return;
    h->check_thread();
    h->flags_ &= static_cast<std::uint8_t>(~Handoff<T>::kPusherAlive);
    if (h->state_ == Handoff<T>::kPopWaiting) {  // the waiting pop can never get a value
      auto* p = static_cast<PopOperation<T>*>(h->waiter_);
      h->state_ = Handoff<T>::kIdle;
      h->waiter_ = nullptr;
      p->close();
    }
  }

  Handoff<T>* h_ = nullptr;
};

// The pop end of a Handoff. Move-only; one per split().
template <class T>
class Popper {
 public:
  using result_type = typename PopOperation<T>::result_type;

  Popper() noexcept = default;
  Popper(Popper&& o) noexcept : h_(std::exchange(o.h_, nullptr)) {}
  Popper& operator=(Popper&& o) noexcept {
    if (this != &o) {
      reset();
      h_ = std::exchange(o.h_, nullptr);
    }
    return *this;
  }
  ~Popper() { reset(); }

  bool valid() const noexcept { return h_ != nullptr; }

  // Waits for a pusher and yields its value; empty (false for Handoff<void>) once the Pusher is
  // destroyed with no push pending. Cancellation: loses nothing (see Handoff).
  [[nodiscard]] PopOperation<T> pop() noexcept { return PopOperation<T>(h_); }

  // Takes the value of a push that is already waiting (and wakes it); empty otherwise.
  result_type try_pop() {
    if (h_ == nullptr) return result_type{};
    h_->check_thread();
    if (h_->state_ != Handoff<T>::kPushWaiting) return result_type{};
    PopOperation<T> op(h_);
    op.take_waiting_pusher();
    return op.await_resume();
  }

 private:
  friend class Handoff<T>;
  explicit Popper(Handoff<T>* h) noexcept : h_(h) {}

  void reset() noexcept {
    Handoff<T>* h = std::exchange(h_, nullptr);
    if (h == nullptr) return;
    h->check_thread();
    h->flags_ &= static_cast<std::uint8_t>(~Handoff<T>::kPopperAlive);
    if (h->state_ == Handoff<T>::kPushWaiting) {  // nobody can take the waiting push's value
      auto* q = static_cast<PushOperation<T>*>(h->waiter_);
      h->state_ = Handoff<T>::kIdle;
      h->waiter_ = nullptr;
      q->complete(PushOperation<T>::kClosed);
    }
  }

  Handoff<T>* h_ = nullptr;
};

}  // namespace executor::sync
