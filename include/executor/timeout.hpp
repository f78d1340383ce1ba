// executor::timeout(duration, awaitable): bounds how long an awaitable may take.
//
//   absl::StatusOr<T> r = co_await executor::timeout(100ms, fetch());   // Task<T>
//   absl::Status s      = co_await executor::timeout(100ms, work());    // Task<void>
//
// Result: the awaitable's value, or absl::DeadlineExceededError("executor::timeout: ...") when
// the deadline passed first. d <= 0 expires at once (the child still gets its chance to finish
// first); a d too large to add to now (hours::max()) never expires. An exception thrown by the
// awaitable propagates unchanged. A result that was produced is never dropped: if the awaitable
// finishes while the timeout is cancelling it, its value is returned.
//
// How (detail/race.hpp, shared with run_until_cancelled): the awaitable runs as a child task; at
// the deadline the child is cancelled (its frame is destroyed at its current suspension point by
// a worker, never while it runs) and timeout() returns once that has happened, so the child's
// resources are released before the caller continues. A child busy in a long synchronous slice
// delays that until it next suspends. Any awaitable works; a non-Task awaitable must be movable (it
// is moved into the child).
//
// An awaiter that has `.deadline(t)` itself (every io operation, Acceptor::accept,
// Receiver::next, the BufReader/BufWriter/framing calls) is not run as a child: timeout(d, op) is
// `std::move(op).timeout(d)` — one behaviour for both spellings. It yields the op's own result
// type (absl::StatusOr<std::size_t> for a recv, with kDeadlineExceeded from the op), and a
// timed-out read leaves its buffer as it was (a destroyed one would take the storage with it).
//
// Cancellation: destroying the awaiting coroutine while suspended withdraws the timer and the
// completion registration; the child task then runs to completion on its own (detached).
// Memory: one task cell (and a wrapper frame for non-Task awaitables) per call.
#pragma once

#include <chrono>
#include <coroutine>
#include <type_traits>
#include <utility>

#include <absl/status/status.h>
#include <absl/status/statusor.h>

#include <executor/detail/bounded_await.hpp>
#include <executor/detail/deadline.hpp>
#include <executor/detail/race.hpp>
#include <executor/detail/task_header.hpp>
#include <executor/detail/timer_node.hpp>
#include <executor/sleep.hpp>
#include <executor/task.hpp>

namespace executor {

namespace detail {

// The event of timeout(): a deadline on the runtime's timer service (see race.hpp).
class DeadlineEvent {
 public:
  explicit DeadlineEvent(Clock::time_point deadline) noexcept { node_.deadline = deadline; }
  DeadlineEvent(const DeadlineEvent&) = delete;
  DeadlineEvent& operator=(const DeadlineEvent&) = delete;
  ~DeadlineEvent() { disarm(); }

  bool fired() const noexcept { return node_.deadline <= Clock::now(); }
  bool arm(Waker w) {
    node_.waker = std::move(w);
    armed_ = true;
    timer_insert(&node_);  // publishes the waker: the last thing we do
    return true;
  }
  void disarm() noexcept {
    if (armed_) {
      timer_cancel(&node_);
      armed_ = false;
    }
  }
  static absl::Status status() {
    return absl::DeadlineExceededError("executor::timeout: the deadline passed first");
  }

 private:
  TimerNode node_;
  bool armed_ = false;
};

template <class T>
Task<StatusResult<T>> timeout_until(Clock::time_point deadline, Task<T> task) {
  return race_child<DeadlineEvent>(IfFiredAtStart::kRaceAnyway, std::move(task), deadline);
}

}  // namespace detail

template <class T>
auto timeout_until(Clock::time_point deadline, Task<T> task) {
  return detail::timeout_until(deadline, std::move(task));
}

template <class Rep, class Period, class T>
auto timeout(std::chrono::duration<Rep, Period> d, Task<T> task) {
  return detail::timeout_until(detail::deadline_after(Clock::now(), d), std::move(task));
}

// An awaiter with its own deadline (detail::DeadlineBounded: every io operation, Acceptor::accept,
// Receiver::next, the BufReader/BufWriter/framing calls): the same as `std::move(op).deadline(t)`,
// keeping an earlier deadline the op already has. It yields what the op yields (kDeadlineExceeded
// from the op when the deadline passes first) and loses what a timed-out op loses: nothing, a
// read's buffer comes back as it was.
template <class A>
requires detail::DeadlineBounded<A> A timeout_until(Clock::time_point deadline, A awaitable) {
  if (auto own = awaitable.bound_deadline(); own && *own <= deadline) return awaitable;
  return std::move(awaitable).deadline(deadline);
}

template <class Rep, class Period, class A>
requires detail::DeadlineBounded<A> A timeout(std::chrono::duration<Rep, Period> d, A awaitable) {
  return executor::timeout_until(detail::deadline_after(Clock::now(), d), std::move(awaitable));
}

// Any other awaitable with an await_resume() (moved into a child task).
template <class Rep, class Period, class A>
requires(!detail::is_task_v<std::decay_t<A>> &&
         !detail::DeadlineBounded<A>) auto timeout(std::chrono::duration<Rep, Period> d,
                                                   A awaitable) {
  return timeout(d, detail::await_in_task(std::move(awaitable)));
}

}  // namespace executor
