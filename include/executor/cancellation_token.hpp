// executor::CancellationToken: cooperative cancellation shared by tasks, callbacks and child
// scopes.
//
//   executor::CancellationToken token;                 // a new, not yet cancelled token
//   auto child = token.child();                        // cancelled with `token`, or on its own
//   executor::CancellationCallback cb(token, [&] { listener.close(); });
//   co_await token.cancelled();                        // suspends until someone calls cancel()
//   token.cancel();                                    // from any thread; idempotent
//
// A token is a cheap handle (one pointer, reference counted) to a shared state. Every copy
// observes and can trigger the same cancellation. Cancellation is cooperative: cancelling a token
// never destroys or interrupts a task; tasks notice it through is_cancelled(), cancelled(), a
// callback, or a combinator such as run_until_cancelled (see docs/cancellation.md).
//
// Design
// ------
// The shared state (src/cancellation_token.cpp) holds the flag, a mutex and an intrusive FIFO
// list of listeners. A listener is a node embedded in whoever listens, so listening allocates
// nothing: a `cancelled()` awaiter (holds a Waker), a CancellationCallback (holds the callable),
// or the link of a child token (non-owning: a child state points to its parent, never the other
// way round, so a parent does not keep its children alive).
//
//   link (await_suspend, callback constructor, child()):  under the lock, append unless cancelled
//   cancel():   under the lock, set the flag; then pop listeners one at a time: a waiter's Waker
//               is moved out under the lock and woken after unlocking (in batches); a child is
//               pinned (reference taken unless it is already being destroyed) and cancelled
//               after unlocking; a callback is marked "running" and invoked after unlocking
//   unlink (awaiter / callback destructor, last reference of a child): under the lock, remove
//               the node if still listed; a callback that is running on another thread is waited
//               for (so its captures outlive the call); one running on this thread (a callback
//               destroying its own registration) is not
//
// A child's state holds a reference to its parent and unlinks itself from the parent's list
// when its last reference goes (or when it is cancelled), so a long-lived parent that hands out
// millions of short-lived children keeps only the live ones listed.
#pragma once

#include <atomic>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <type_traits>
#include <utility>

#include <executor/detail/task_header.hpp>
#include <executor/export.hpp>

namespace executor {

class CancellationToken;
class CancellationRegistration;

namespace detail {

// The part of the shared state that the inline fast paths read; src/cancellation_token.cpp
// derives the full state from it.
struct CancelState {
  // Handles (tokens, awaiters, registrations) plus one per child state. acq_rel decrement.
  std::atomic<std::uint32_t> refs{1};
  // Set once, under the state's lock. release (in cancel) pairs with acquire in is_cancelled.
  std::atomic<bool> cancelled{false};
};

// An intrusive listener node. `prev`, `next` and `linked` are guarded by the lock of the state
// whose list holds the node.
struct CancelListener {
  enum class Kind : std::uint8_t { kWaiter, kCallback, kChild };
  explicit CancelListener(Kind k) noexcept : kind(k) {}
  CancelListener(const CancelListener&) = delete;
  CancelListener& operator=(const CancelListener&) = delete;
  CancelListener* prev = nullptr;
  CancelListener* next = nullptr;
  const Kind kind;
  bool linked = false;
};

// A suspended waiter: cancel() moves the waker out under the lock and wakes it after unlocking.
struct CancelWaiter : CancelListener {
  CancelWaiter() noexcept : CancelListener(Kind::kWaiter) {}
  Waker waker;
};

// A registered callback: cancel() invokes `invoke` with no lock held.
struct CancelCallbackNode : CancelListener {
  using InvokeFn = void (*)(CancelCallbackNode*) noexcept;
  explicit CancelCallbackNode(InvokeFn fn) noexcept : CancelListener(Kind::kCallback), invoke(fn) {}
  InvokeFn invoke;
  // release (by the cancelling thread once `invoke` returned) pairs with the acquire of an
  // unregistering thread that waits for the running callback.
  std::atomic<bool> done{false};
  // Set by the cancelling thread while the callback runs; lets the callback destroy its own
  // registration (then the cancelling thread never touches the node again).
  bool* destroyed = nullptr;
};

EXECUTOR_API CancelState* cancel_state_new();  // refs = 1; throws std::bad_alloc
EXECUTOR_API CancelState* cancel_state_child(CancelState* parent);  // refs = 1; may throw
EXECUTOR_API void cancel_state_release(CancelState* s) noexcept;
// Returns true if this call performed the cancellation (false if it was already cancelled).
EXECUTOR_API bool cancel_state_cancel(CancelState* s) noexcept;
// Appends `l` unless the state is cancelled; returns whether it was linked.
EXECUTOR_API bool cancel_state_link(CancelState* s, CancelListener* l) noexcept;
// Removes `l` if it is still listed; returns whether it was.
EXECUTOR_API bool cancel_state_unlink(CancelState* s, CancelListener* l) noexcept;
// Removes a callback, or waits for it to finish if another thread is running it right now.
EXECUTOR_API void cancel_state_unregister(CancelState* s, CancelCallbackNode* cb) noexcept;
// Testing aid: listeners currently linked (waiters, callbacks, live child links).
EXECUTOR_API std::size_t cancel_state_listeners(CancelState* s) noexcept;

}  // namespace detail

class CancelledAwaiter;

// A handle to a cancellation state.
//
// Thread safety: every member may be called concurrently from any thread, on the same or on
// different copies. A token always refers to a state (moving a token copies it).
// Memory ordering: everything a thread wrote before calling cancel() is visible to a thread that
// then sees is_cancelled() == true, to a task resumed from cancelled(), and inside callbacks.
// Errors: only allocation (std::bad_alloc) in the constructor and child().
class EXECUTOR_API CancellationToken {
 public:
  // A fresh token, not cancelled, with no parent.
  CancellationToken() : s_(detail::cancel_state_new()) {}
  CancellationToken(const CancellationToken& o) noexcept : s_(o.s_) { acquire(s_); }
  // Moving is copying: a token is never empty.
  CancellationToken(CancellationToken&& o) noexcept : s_(o.s_) { acquire(s_); }
  CancellationToken& operator=(const CancellationToken& o) noexcept {
    acquire(o.s_);
    detail::cancel_state_release(std::exchange(s_, o.s_));
    return *this;
  }
  CancellationToken& operator=(CancellationToken&& o) noexcept {
    return *this = static_cast<const CancellationToken&>(o);
  }
  ~CancellationToken() { detail::cancel_state_release(s_); }

  // Cancels the token and, transitively, its children: wakes every task waiting in cancelled()
  // and runs every registered callback, on this thread, before returning. Returns true if this
  // call cancelled the token; cancelling an already cancelled token does nothing and returns
  // false (if another thread is cancelling it right now, this call does not wait for that
  // thread's callbacks). Never cancels the parent.
  bool cancel() noexcept { return detail::cancel_state_cancel(s_); }

  // acquire: pairs with the release in cancel().
  bool is_cancelled() const noexcept { return s_->cancelled.load(std::memory_order_acquire); }

  // `co_await token.cancelled()` completes once the token is cancelled (immediately if it is).
  // Cancellation: destroying the awaiting coroutine while it waits unlinks the waiter; nothing
  // leaks and a concurrent cancel() is safe. Only inside a task of a Runtime.
  [[nodiscard]] CancelledAwaiter cancelled() const noexcept;

  // A new token that is cancelled when this one is (immediately, if it already is), or by its
  // own cancel(), which does not affect this token. The child keeps no reference from the parent:
  // once every copy of the child is gone it unlinks itself, so a long-lived parent does not grow
  // with the number of children it ever handed out.
  [[nodiscard]] CancellationToken child() const {
    return CancellationToken(Adopt{}, detail::cancel_state_child(s_));
  }

  // Registers `f` to run once when the token is cancelled (see CancellationCallback) and returns
  // the RAII registration (movable; one allocation). Runs `f` now if already cancelled.
  template <class F>
  [[nodiscard]] CancellationRegistration on_cancel(F&& f) const;

  // Same state (copies of one token, not parent/child).
  friend bool operator==(const CancellationToken& a, const CancellationToken& b) noexcept {
    return a.s_ == b.s_;
  }

  detail::CancelState* state_for_internal_use() const noexcept { return s_; }

 private:
  struct Adopt {};
  CancellationToken(Adopt, detail::CancelState* s) noexcept : s_(s) {}
  static void acquire(detail::CancelState* s) noexcept {
    // relaxed: a new reference is derived from one the caller holds (as in shared_ptr).
    s->refs.fetch_add(1, std::memory_order_relaxed);
  }
  detail::CancelState* s_;
};

// The awaiter behind `co_await token.cancelled()`: an intrusive waiter node (no allocation).
// It keeps the token's state alive while it exists.
class CancelledAwaiter {
 public:
  explicit CancelledAwaiter(CancellationToken token) noexcept : token_(std::move(token)) {}
  // Movable until awaited (e.g. into executor::when_any); a suspended awaiter never moves because
  // it lives in a suspended frame.
  CancelledAwaiter(CancelledAwaiter&& o) noexcept : token_(o.token_) {}
  CancelledAwaiter& operator=(CancelledAwaiter&&) = delete;
  CancelledAwaiter(const CancelledAwaiter&) = delete;
  CancelledAwaiter& operator=(const CancelledAwaiter&) = delete;
  ~CancelledAwaiter() {
    // Destroyed while suspended: withdraw the node. If cancel() already popped it, the waker was
    // moved out under the lock and is not ours any more.
    if (linked_ && detail::cancel_state_unlink(token_.state_for_internal_use(), &node_)) {
      node_.waker.drop();
    }
  }

  bool await_ready() const noexcept { return token_.is_cancelled(); }
  bool await_suspend(std::coroutine_handle<> h) noexcept {
    node_.waker = detail::Waker::current(h);
    // Publishes the waker (the last thing we do) unless the token was cancelled meanwhile.
    if (!detail::cancel_state_link(token_.state_for_internal_use(), &node_)) {
      node_.waker.drop();
      return false;
    }
    linked_ = true;
    return true;
  }
  // Only cancel() wakes this waker, and it unlinked the node before doing so.
  void await_resume() noexcept { linked_ = false; }

 private:
  CancellationToken token_;
  detail::CancelWaiter node_;
  bool linked_ = false;
};

inline CancelledAwaiter CancellationToken::cancelled() const noexcept {
  return CancelledAwaiter(*this);
}

// Runs a callable once when a token is cancelled (like std::stop_callback). Non-movable; the
// callable is stored inline, so registering allocates nothing.
//
// The callable runs exactly once: in the constructor if the token is already cancelled,
// otherwise on the thread that calls cancel() (or cancels an ancestor), with no lock held. It
// must not throw (std::terminate) and should be short: cancel() runs callbacks one after the
// other. It may cancel other tokens, register callbacks, and destroy its own registration.
//
// Destruction unregisters: afterwards the callable never runs. If another thread is running the
// callable at that moment, the destructor waits for it to return (so its captures stay valid);
// if this thread is running it (the callback destroys its own registration), it does not.
// Thread safety: construction and destruction may race with cancel() from any thread.
// Memory ordering: the callable sees everything written before cancel().
//
// Example:
//   executor::CancellationCallback stop(token, [&server] { server.close_listener(); });
template <class F>
class CancellationCallback : private detail::CancelCallbackNode {
 public:
  template <class G>
  requires std::is_constructible_v<F, G&&> CancellationCallback(const CancellationToken& token,
                                                                G&& f)
  noexcept(std::is_nothrow_constructible_v<F, G&&>)
      : detail::CancelCallbackNode(&run), token_(token), f_(std::forward<G>(f)) {
    if (!detail::cancel_state_link(token_.state_for_internal_use(), this)) {
      ran_here_ = true;
      run(this);  // already cancelled: run now, on this thread
    }
  }
  CancellationCallback(const CancellationCallback&) = delete;
  CancellationCallback& operator=(const CancellationCallback&) = delete;
  ~CancellationCallback() {
    if (!ran_here_) detail::cancel_state_unregister(token_.state_for_internal_use(), this);
  }

 private:
  static void run(detail::CancelCallbackNode* n) noexcept {
    static_cast<CancellationCallback*>(n)->f_();
  }
  CancellationToken token_;
  F f_;
  bool ran_here_ = false;
};

template <class F>
CancellationCallback(const CancellationToken&, F) -> CancellationCallback<F>;

// The movable RAII registration returned by CancellationToken::on_cancel. Destroying it (or
// reset()) unregisters the callback with the guarantees of ~CancellationCallback.
class CancellationRegistration {
 public:
  CancellationRegistration() noexcept = default;
  CancellationRegistration(CancellationRegistration&& o) noexcept
      : p_(std::exchange(o.p_, nullptr)), destroy_(o.destroy_) {}
  CancellationRegistration& operator=(CancellationRegistration&& o) noexcept {
    if (this != &o) {
      reset();
      p_ = std::exchange(o.p_, nullptr);
      destroy_ = o.destroy_;
    }
    return *this;
  }
  ~CancellationRegistration() { reset(); }

  void reset() noexcept {
    if (void* p = std::exchange(p_, nullptr)) destroy_(p);
  }
  bool valid() const noexcept { return p_ != nullptr; }

 private:
  friend class CancellationToken;
  template <class C>
  explicit CancellationRegistration(C* p) noexcept
      : p_(p), destroy_([](void* q) noexcept { delete static_cast<C*>(q); }) {}
  void* p_ = nullptr;
  void (*destroy_)(void*) noexcept = nullptr;
};

template <class F>
CancellationRegistration CancellationToken::on_cancel(F&& f) const {
  using C = CancellationCallback<std::decay_t<F>>;
  return CancellationRegistration(new C(*this, std::forward<F>(f)));
}

}  // namespace executor
