// executor::cortexm::sleep(d) / sleep_until(t): suspend the task until the SysTick count reaches
// a deadline.
//
// The timer queue is SysTick's waker list: a doubly linked list of TimerNodes ordered by
// deadline (equal deadlines keep their arrival order), each node inside the sleeping task's
// frame. The SysTick handler advances the count and wakes every node whose deadline is due, in
// order; the tasks then run from the executor loop in that order.
//
// Precision: `sleep(d)` wakes at the first tick at which now() >= now_at_call + ceil(d) ticks, so
// measured in ticks it is never early; in wall time it may be up to one tick shorter than d
// (the call happened part-way through a tick). sleep(0) or a past deadline does not suspend.
// Cancellation: destroying a suspended sleep (its task cancelled) unlinks the node and drops its
// waker: nothing stays in the queue. Thread safety: only inside a task of the executor.
// Memory: the node lives in the awaiter, in the coroutine frame; nothing is allocated.
//
// Example:
//   co_await executor::cortexm::sleep(std::chrono::milliseconds(10));
#pragma once

#include <chrono>
#include <coroutine>
#include <cstdint>

#include <executor/cortexm/clock.hpp>
#include <executor/detail/task_header.hpp>

namespace executor::cortexm {

namespace internal {
struct TimerNode {
  std::int64_t deadline = 0;  // in ticks
  TimerNode* prev = nullptr;
  TimerNode* next = nullptr;
  executor::detail::Waker waker;
  bool linked = false;
};
// Links `node` into the timer queue unless its deadline has already passed (returns false and
// leaves it unlinked then). Critical-sectioned.
bool timer_link(TimerNode* node) noexcept;
// Unlinks `node` if it is still queued and drops its waker. Critical-sectioned.
void timer_unlink(TimerNode* node) noexcept;
// Timer nodes queued (tests and diagnostics).
std::size_t timers_queued() noexcept;
}  // namespace internal

class SleepAwaiter {
 public:
  explicit SleepAwaiter(TickClock::time_point deadline) noexcept {
    node_.deadline = deadline.time_since_epoch().count();
  }
  SleepAwaiter(const SleepAwaiter&) = delete;
  SleepAwaiter& operator=(const SleepAwaiter&) = delete;
  ~SleepAwaiter() {
    if (node_.linked) internal::timer_unlink(&node_);
  }

  bool await_ready() const noexcept {
    return node_.deadline <= TickClock::now().time_since_epoch().count();
  }
  bool await_suspend(std::coroutine_handle<> h) noexcept {
    node_.waker = executor::detail::Waker::current(h);
    if (internal::timer_link(&node_)) return true;  // publishing the node is the last step
    node_.waker.drop();  // a tick passed the deadline meanwhile: withdraw, do not suspend
    return false;
  }
  void await_resume() const noexcept {}

 private:
  internal::TimerNode node_;
};

[[nodiscard]] inline SleepAwaiter sleep_until(TickClock::time_point deadline) noexcept {
  return SleepAwaiter(deadline);
}

template <class Rep, class Period>
[[nodiscard]] SleepAwaiter sleep(std::chrono::duration<Rep, Period> d) noexcept {
  return SleepAwaiter(TickClock::now() + std::chrono::ceil<TickClock::duration>(d));
}

}  // namespace executor::cortexm
