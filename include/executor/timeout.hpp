// executor::timeout(duration, awaitable): bounds how long an awaitable may take.
//
//   absl::StatusOr<T> r = co_await executor::timeout(100ms, fetch());   // Task<T>
//   absl::Status s      = co_await executor::timeout(100ms, work());    // Task<void>
//
// Result: the awaitable's value, or absl::DeadlineExceededError("executor::timeout: ...") when
// the deadline passed first. An exception thrown by the awaitable propagates unchanged. A result
// that was produced is never dropped: if the awaitable finishes while the timeout is cancelling
// it, its value is returned.
//
// How: the awaitable runs as a child task; at the deadline the child is cancelled (its frame is
// destroyed at its current suspension point by a worker, never while it runs) and timeout()
// returns once that has happened, so the child's resources are released before the caller
// continues. A child busy in a long synchronous slice delays that until it next suspends.
// Any awaitable works; a non-Task awaitable must be movable (it is moved into the child).
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

#include <executor/detail/task_header.hpp>
#include <executor/detail/timer_node.hpp>
#include <executor/join_handle.hpp>
#include <executor/sleep.hpp>
#include <executor/spawn.hpp>
#include <executor/task.hpp>

namespace executor {

namespace detail {

// Suspends until the task behind `h` completes or the deadline passes, whichever is first.
template <class T>
class JoinOrDeadline {
 public:
  JoinOrDeadline(JoinHandle<T>& h, Clock::time_point deadline) noexcept : h_(h) {
    node_.deadline = deadline;
  }
  JoinOrDeadline(const JoinOrDeadline&) = delete;
  JoinOrDeadline& operator=(const JoinOrDeadline&) = delete;
  ~JoinOrDeadline() { withdraw(); }

  bool await_ready() const noexcept { return h_.is_finished() || node_.deadline <= Clock::now(); }
  bool await_suspend(std::coroutine_handle<> c) {
    Waker w = Waker::current(c);
    Waker timer_waker = w.clone();
    if (!h_.set_waker_for_combinator(std::move(w))) return false;  // finished meanwhile
    join_registered_ = true;
    node_.waker = std::move(timer_waker);
    armed_ = true;
    timer_insert(&node_);
    return true;
  }
  void await_resume() noexcept { withdraw(); }

 private:
  void withdraw() noexcept {
    if (armed_) {
      timer_cancel(&node_);
      armed_ = false;
    }
    if (join_registered_) {
      h_.clear_waker_for_combinator();
      join_registered_ = false;
    }
  }
  JoinHandle<T>& h_;
  TimerNode node_;
  bool armed_ = false;
  bool join_registered_ = false;
};

inline absl::Status deadline_exceeded() {
  return absl::DeadlineExceededError("executor::timeout: the deadline passed first");
}

template <class T>
Task<std::conditional_t<std::is_void_v<T>, absl::Status, absl::StatusOr<T>>> timeout_until(
    Clock::time_point deadline, Task<T> task) {
  JoinHandle<T> h = spawn(std::move(task));
  co_await JoinOrDeadline<T>(h, deadline);
  bool expired = !h.is_finished();
  if (expired) h.abort_for_combinator();
  try {
    if constexpr (std::is_void_v<T>) {
      co_await std::move(h);
      co_return absl::OkStatus();
    } else {
      co_return co_await std::move(h);
    }
  } catch (const TaskCancelled&) {
    if (!expired) throw;
  }
  co_return deadline_exceeded();
}

template <class A>
auto await_in_task(A awaitable) -> Task<decltype(std::declval<A&&>().await_resume())> {
  co_return co_await std::move(awaitable);
}

template <class A>
decltype(auto) as_task(A&& a) {
  if constexpr (is_task_v<std::decay_t<A>>) {
    return std::forward<A>(a);
  } else {
    return await_in_task(std::forward<A>(a));
  }
}

}  // namespace detail

template <class T>
auto timeout_until(Clock::time_point deadline, Task<T> task) {
  return detail::timeout_until(deadline, std::move(task));
}

template <class Rep, class Period, class T>
auto timeout(std::chrono::duration<Rep, Period> d, Task<T> task) {
  return detail::timeout_until(Clock::now() + std::chrono::duration_cast<Clock::duration>(d),
                               std::move(task));
}

// Any other awaitable with an await_resume() (moved into a child task).
template <class Rep, class Period, class A>
requires(!detail::is_task_v<std::decay_t<A>>) auto timeout(std::chrono::duration<Rep, Period> d,
                                                           A awaitable) {
  return timeout(d, detail::await_in_task(std::move(awaitable)));
}

}  // namespace executor
