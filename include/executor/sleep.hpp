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

#include <executor/detail/task_header.hpp>
#include <executor/detail/timer_node.hpp>

namespace executor {

using Clock = std::chrono::steady_clock;

class SleepAwaiter {
 public:
  explicit SleepAwaiter(Clock::time_point deadline) noexcept { node_.deadline = deadline; }
  // Movable until awaited (e.g. into executor::timeout); an armed awaiter never moves because it
  // lives in a suspended frame.
  SleepAwaiter(SleepAwaiter&& other) noexcept { node_.deadline = other.node_.deadline; }
  SleepAwaiter& operator=(SleepAwaiter&&) = delete;
  ~SleepAwaiter() {
    if (armed_) detail::timer_cancel(&node_);
  }

  bool await_ready() const noexcept { return node_.deadline <= Clock::now(); }
  void await_suspend(std::coroutine_handle<> h) {
    node_.waker = detail::Waker::current(h);
    armed_ = true;
    detail::timer_insert(&node_);  // publishes the waker: the last thing we do
  }
  void await_resume() const noexcept {}

 private:
  detail::TimerNode node_;
  bool armed_ = false;
};

[[nodiscard]] inline SleepAwaiter sleep_until(Clock::time_point deadline) noexcept {
  return SleepAwaiter(deadline);
}

template <class Rep, class Period>
[[nodiscard]] SleepAwaiter sleep(std::chrono::duration<Rep, Period> d) noexcept {
  return SleepAwaiter(Clock::now() + std::chrono::duration_cast<Clock::duration>(d));
}

}  // namespace executor
