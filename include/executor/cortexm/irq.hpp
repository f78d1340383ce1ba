// Interrupt waker lists: `co_await wait_irq(n)` suspends a task until external interrupt n fires.
//
// Design
// ------
// There is one IrqWakerList per external interrupt line, a fixed array of
// EXECUTOR_CORTEXM_NUM_IRQS lists in static storage (two pointers each). A list is an intrusive
// doubly linked FIFO of IrqWaitNodes; each node lives inside the awaiting task's frame (in the
// awaiter), is linked at the tail by await_suspend and unlinks itself in its destructor, so a
// cancelled task never leaves a dangling node behind.
//
//   task:     wait_irq(n) -> link node at tail of list n -> enable line n in the NVIC -> suspend
//   handler:  mask line n in the NVIC -> wake_all(list n): unlink each node, wake its task
//   loop:     runs each woken task once, in list order (never inside the handler)
//
// The default handler of every line (`IRQ<n>_Handler`, weak, in the startup code) does the
// handler row above. Masking the line on entry keeps a level-triggered source from firing again
// before its task has serviced the device; the next wait_irq(n) unmasks it. Consequence: an
// interrupt that becomes pending while nobody waits is not lost — it stays pending and wakes
// the next waiter immediately. An application that wants its own handler defines
// `extern "C" void IRQ<n>_Handler()`, services the device and calls `irq_wakers(n).wake_all()`.
//
// Thread safety: link/unlink/wake_all run in critical sections: tasks, thread-mode code and
// handlers may use a list concurrently. Memory: nothing is allocated.
#pragma once

#include <chrono>
#include <coroutine>
#include <cstddef>

#include <executor/cortexm/clock.hpp>
#include <executor/cortexm/sleep.hpp>
#include <executor/detail/task_header.hpp>

#ifndef EXECUTOR_CORTEXM_NUM_IRQS
#define EXECUTOR_CORTEXM_NUM_IRQS 32
#endif

namespace executor::cortexm {

inline constexpr unsigned kNumIrqs = EXECUTOR_CORTEXM_NUM_IRQS;

// A waiter on an IrqWakerList; lives in the awaiting frame.
struct IrqWaitNode {
  IrqWaitNode* prev = nullptr;
  IrqWaitNode* next = nullptr;
  executor::detail::Waker waker;
  bool linked = false;
};

class IrqWakerList {
 public:
  constexpr IrqWakerList() noexcept = default;
  IrqWakerList(const IrqWakerList&) = delete;
  IrqWakerList& operator=(const IrqWakerList&) = delete;

  // Appends `node` (its waker already set). Critical-sectioned.
  void link(IrqWaitNode* node) noexcept;
  // Removes `node` if it is still linked and drops its waker. Critical-sectioned.
  void unlink(IrqWaitNode* node) noexcept;
  // Takes every node off the list, in order, and wakes its task. Returns how
  // many were woken. Meant for interrupt handlers; legal anywhere.
  std::size_t wake_all() noexcept;

  bool empty() const noexcept { return head_ == nullptr; }
  std::size_t size() const noexcept;

 private:
  IrqWaitNode* head_ = nullptr;
  IrqWaitNode* tail_ = nullptr;
};

// The waker list of external interrupt `irq` (< kNumIrqs; anything else is a fatal error).
IrqWakerList& irq_wakers(unsigned irq) noexcept;

// NVIC control of external interrupt lines (fatal error for irq >= kNumIrqs).
void enable_irq(unsigned irq) noexcept;
void disable_irq(unsigned irq) noexcept;
// Sets the line's pending bit: a software-triggered interrupt. Its handler runs as soon as the
// line is enabled and interrupts are unmasked (from a task: at the next loop window).
void pend_irq(unsigned irq) noexcept;

// What the default handler of line `irq` does: mask the line, wake its list.
void irq_dispatch(unsigned irq) noexcept;

// co_await wait_irq(n): suspends until interrupt n's handler runs (see the design above).
// Cancellation: destroying the suspended awaiter unlinks its node; the line stays enabled (a
// later interrupt finds an empty list and is simply masked again).
// Errors: irq >= kNumIrqs is a fatal error. Thread safety: only inside a task.
class IrqAwaiter {
 public:
  explicit IrqAwaiter(unsigned irq) noexcept : list_(&irq_wakers(irq)), irq_(irq) {}
  IrqAwaiter(const IrqAwaiter&) = delete;
  IrqAwaiter& operator=(const IrqAwaiter&) = delete;
  ~IrqAwaiter() {
    if (node_.linked) list_->unlink(&node_);
  }

  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> h) noexcept {
    node_.waker = executor::detail::Waker::current(h);
    list_->link(&node_);
    enable_irq(irq_);  // a pending interrupt may fire now; it only queues this task
  }
  void await_resume() const noexcept {}

 private:
  IrqWakerList* list_;
  unsigned irq_;
  IrqWaitNode node_;
};

[[nodiscard]] inline IrqAwaiter wait_irq(unsigned irq) noexcept {
  return IrqAwaiter(irq);
}

// co_await wait_irq_until(n, deadline) / wait_irq_for(n, d): like wait_irq(n), but gives up at
// the deadline. Yields true if the interrupt woke the task, false on timeout.
//
// The awaiter puts two nodes on two waker lists for one suspension — line n's list and
// SysTick's timer queue — each holding a clone of the same Waker. The first wake wins; the
// other is stale (its epoch is over) and is withdrawn by await_resume. If both fire before the
// task runs, the interrupt wins. A deadline that has already passed yields false at once.
// Cancellation: destroying the suspended awaiter unlinks both nodes.
// Errors: irq >= kNumIrqs is a fatal error. Thread safety: only inside a task.
class IrqDeadlineAwaiter {
 public:
  IrqDeadlineAwaiter(unsigned irq, TickClock::time_point deadline) noexcept
      : list_(&irq_wakers(irq)), irq_(irq) {
    timer_.deadline = deadline.time_since_epoch().count();
  }
  IrqDeadlineAwaiter(const IrqDeadlineAwaiter&) = delete;
  IrqDeadlineAwaiter& operator=(const IrqDeadlineAwaiter&) = delete;
  ~IrqDeadlineAwaiter() { withdraw(); }

  bool await_ready() const noexcept {
    return timer_.deadline <= TickClock::now().time_since_epoch().count();
  }
  bool await_suspend(std::coroutine_handle<> h) noexcept {
    executor::detail::Waker w = executor::detail::Waker::current(h);
    node_.waker = w.clone();
    timer_.waker = std::move(w);
    if (!internal::timer_link(&timer_)) {  // the deadline passed meanwhile: do not suspend
      timer_.waker.drop();
      node_.waker.drop();
      return false;
    }
    list_->link(&node_);  // publishing the interrupt node is the last step
    enable_irq(irq_);
    suspended_ = true;
    return true;
  }
  bool await_resume() noexcept {
    // While we were suspended only the handler takes the node off the list.
    const bool interrupted = suspended_ && !node_.linked;
    withdraw();
    return interrupted;
  }

 private:
  void withdraw() noexcept {
    if (node_.linked) list_->unlink(&node_);
    if (timer_.linked) internal::timer_unlink(&timer_);
  }
  IrqWakerList* list_;
  unsigned irq_;
  bool suspended_ = false;
  IrqWaitNode node_;
  internal::TimerNode timer_;
};

[[nodiscard]] inline IrqDeadlineAwaiter wait_irq_until(unsigned irq,
                                                       TickClock::time_point deadline) noexcept {
  return IrqDeadlineAwaiter(irq, deadline);
}

template <class Rep, class Period>
[[nodiscard]] IrqDeadlineAwaiter wait_irq_for(unsigned irq,
                                              std::chrono::duration<Rep, Period> d) noexcept {
  return IrqDeadlineAwaiter(irq, TickClock::now() + std::chrono::ceil<TickClock::duration>(d));
}

}  // namespace executor::cortexm
