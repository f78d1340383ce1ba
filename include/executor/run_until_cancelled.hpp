// executor::run_until_cancelled(token, awaitable): ends an awaitable early when a token fires.
//
//   absl::StatusOr<Request> r = co_await executor::run_until_cancelled(stop, read_request(conn));
//   if (absl::IsCancelled(r.status())) co_return;              // shutting down
//   absl::Status s = co_await executor::run_until_cancelled(stop, executor::sleep(1min));
//
// Result (the same story as executor::timeout): the awaitable's value (absl::StatusOr<T>; for a
// void awaitable an OK absl::Status), or absl::CancelledError("executor::run_until_cancelled:
// ...") when the token was cancelled first. An exception thrown by the awaitable propagates
// unchanged. A produced result is never dropped: if the awaitable finishes while it is being
// cancelled, its value is returned. If the token is already cancelled, the awaitable is not
// started at all and the result is CancelledError.
//
// How (detail/race.hpp, shared with timeout): the awaitable runs as a child task; when the token
// fires, the child's frame is destroyed at its current suspension point by a worker (never while
// it runs) and run_until_cancelled returns once that has happened, so whatever the child held
// (buffers, timers, waiter registrations, locks taken through RAII) is released before the caller
// continues. A child busy in a long synchronous slice delays that until it next suspends. What
// "cancelled" means for each kind of awaitable is listed in docs/cancellation.md.
// Any awaitable works; a non-Task awaitable must be movable (it is moved into the child).
//
// Cancellation: destroying the awaiting coroutine while suspended withdraws the token waiter and
// the completion registration; the child task then runs to completion on its own (detached).
// Thread safety: the token may be cancelled from any thread at any time.
// Memory: one task cell (and a wrapper frame for non-Task awaitables) per call; the token waiter
// is intrusive.
#pragma once

#include <type_traits>
#include <utility>

#include <absl/status/status.h>
#include <absl/status/statusor.h>

#include <executor/cancellation_token.hpp>
#include <executor/detail/race.hpp>
#include <executor/task.hpp>

namespace executor {

namespace detail {

// The event of run_until_cancelled(): a waiter on a cancellation token (see race.hpp).
class TokenEvent {
 public:
  explicit TokenEvent(CancellationToken token) noexcept : token_(std::move(token)) {}
  TokenEvent(const TokenEvent&) = delete;
  TokenEvent& operator=(const TokenEvent&) = delete;
  ~TokenEvent() { disarm(); }

  bool fired() const noexcept { return token_.is_cancelled(); }
  bool arm(Waker w) noexcept {
    node_.waker = std::move(w);
    if (!cancel_state_link(token_.state_for_internal_use(), &node_)) {
      node_.waker.drop();
      return false;
    }
    linked_ = true;
    return true;
  }
  void disarm() noexcept {
    // If cancel() already popped the node it moved the waker out: nothing of ours is left.
    if (linked_ && cancel_state_unlink(token_.state_for_internal_use(), &node_)) {
      node_.waker.drop();
    }
    linked_ = false;
  }
  static absl::Status status() {
    return absl::CancelledError("executor::run_until_cancelled: the token was cancelled first");
  }

 private:
  CancellationToken token_;
  CancelWaiter node_;
  bool linked_ = false;
};

}  // namespace detail

template <class T>
Task<detail::StatusResult<T>> run_until_cancelled(CancellationToken token, Task<T> task) {
  return detail::race_child<detail::TokenEvent>(detail::IfFiredAtStart::kDontStart, std::move(task),
                                                std::move(token));
}

// Any other awaitable with an await_resume() (moved into a child task).
template <class A>
requires(!detail::is_task_v<std::decay_t<A>>) auto run_until_cancelled(CancellationToken token,
                                                                       A awaitable) {
  return run_until_cancelled(std::move(token), detail::await_in_task(std::move(awaitable)));
}

}  // namespace executor
