// executor::sleep(duration) and executor::sleep_until(time_point): suspend the task until the
// steady clock reaches the deadline. Never wakes early. The runtime's timers have a granularity
// of 65.5 us: a sleep is woken at the end of the timer tick holding its deadline (at most one
// tick late), plus the time a worker takes to get to it.
//
// Cancellation: destroying a suspended sleep disarms its timer (no allocation, nothing leaks).
// Thread safety: only inside a task of a Runtime.
// Memory: the timer lives in the awaiter (in the coroutine frame): no allocation per sleep.
#pragma once

#include <chrono>
#include <coroutine>

#include <executor/detail/deadline.hpp>
#include <executor/detail/task_header.hpp>
#include <executor/detail/timer_node.hpp>

namespace executor {

using Clock = std::chrono::steady_clock;

class SleepAwaiter {
 public:
  explicit SleepAwaiter(Clock::time_point deadline) noexcept { node_.deadline = deadline; }
  // A deadline computed as a fresh Clock::now() plus a positive duration (sleep(d) with d > 0):
  // it is known to be in the future, so await_ready() skips its clock read and the sleep always
  // suspends. Should the deadline pass before the awaiter is awaited (d of a few ns, or an
  // awaiter kept and awaited later), the timer fires at the wheel's next poll: never early, only
  // not at once.
  struct AfterNow {};
  SleepAwaiter(Clock::time_point deadline, AfterNow) noexcept : after_now_(true) {
    node_.deadline = deadline;
  }
  // Movable until awaited (e.g. into executor::timeout); an armed awaiter never moves because it
  // lives in a suspended frame.
  SleepAwaiter(SleepAwaiter&& other) noexcept : after_now_(other.after_now_) {
    node_.deadline = other.node_.deadline;
  }
  SleepAwaiter& operator=(SleepAwaiter&&) = delete;
  ~SleepAwaiter() {
    if (armed_) detail::timer_cancel(&node_);
  }

  bool await_ready() const noexcept { return !after_now_ && node_.deadline <= Clock::now(); }
  void await_suspend(std::coroutine_handle<> h) {
    node_.waker = detail::Waker::current(h);
    armed_ = true;
    detail::timer_insert(&node_);  // publishes the waker: the last thing we do
  }
  void await_resume() const noexcept {}

 private:
  detail::TimerNode node_;
  bool armed_ = false;
  bool after_now_ = false;
};

[[nodiscard]] inline SleepAwaiter sleep_until(Clock::time_point deadline) noexcept {
  return SleepAwaiter(deadline);
}

// One clock read: the deadline is now + d, so a positive d needs no second read in await_ready.
// A d too large to add to now (hours::max()) sleeps until time_point::max(), i.e. forever.
template <class Rep, class Period>
[[nodiscard]] SleepAwaiter sleep(std::chrono::duration<Rep, Period> d) noexcept {
  Clock::time_point now = Clock::now();
  if (d > std::chrono::duration<Rep, Period>::zero()) {
    return SleepAwaiter(detail::deadline_after(now, d), SleepAwaiter::AfterNow{});
  }
  return SleepAwaiter(now);
}

}  // namespace executor
