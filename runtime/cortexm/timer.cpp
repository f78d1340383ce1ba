// SysTick: the tick count and the timer queue, SysTick's waker list (see
// <executor/cortexm/sleep.hpp> and <executor/cortexm/clock.hpp>).
//
// Fields: g_ticks, g_head, g_tail and every linked node's prev/next/linked/waker are written by
// the SysTick handler and by thread mode (link/unlink) — always inside a critical section (the
// handler's own body is one too, so a higher-priority handler may not interleave either).
#include <executor/cortexm/clock.hpp>
#include <executor/cortexm/critical_section.hpp>
#include <executor/cortexm/sleep.hpp>
#include <executor/detail/task_header.hpp>

#include "port.hpp"
#include "timer.hpp"

namespace executor::cortexm {

namespace {
constinit std::int64_t g_ticks = 0;
constinit bool g_tick_started = false;
constinit internal::TimerNode* g_head = nullptr;  // earliest deadline first
constinit internal::TimerNode* g_tail = nullptr;

void unlink_locked(internal::TimerNode* n) noexcept {
  if (n->prev != nullptr) {
    n->prev->next = n->next;
  } else {
    g_head = n->next;
  }
  if (n->next != nullptr) {
    n->next->prev = n->prev;
  } else {
    g_tail = n->prev;
  }
  n->prev = n->next = nullptr;
  n->linked = false;
}
}  // namespace

TickClock::time_point TickClock::now() noexcept {
  CriticalSection cs;  // a 64-bit read is two loads: keep the handler out between them
  return time_point(duration(g_ticks));
}

void start_tick(std::uint32_t cpu_hz) noexcept {
  std::uint32_t reload = cpu_hz / EXECUTOR_CORTEXM_TICK_HZ;
  if (reload < 2 || reload > (1u << 24)) {
    executor::detail::fatal(
        "executor::cortexm::start_tick: SysTick cannot divide this clock to "
        "EXECUTOR_CORTEXM_TICK_HZ (reload must fit 24 bits)");
  }
  port::systick_start(reload - 1);
  g_tick_started = true;
}

bool tick_started() noexcept {
  return g_tick_started;
}

namespace internal {

bool timer_link(TimerNode* node) noexcept {
  CriticalSection cs;
  if (node->deadline <= g_ticks) return false;
  // Insert after the last node with deadline <= ours: the queue stays sorted and FIFO among
  // equal deadlines. Scanning from the tail makes the common case (a later deadline) O(1).
  TimerNode* after = g_tail;
  while (after != nullptr && after->deadline > node->deadline) after = after->prev;
  node->prev = after;
  node->next = after != nullptr ? after->next : g_head;
  if (node->next != nullptr) {
    node->next->prev = node;
  } else {
    g_tail = node;
  }
  if (after != nullptr) {
    after->next = node;
  } else {
    g_head = node;
  }
  node->linked = true;
  return true;
}

void timer_unlink(TimerNode* node) noexcept {
  executor::detail::Waker w;
  {
    CriticalSection cs;
    if (!node->linked) return;
    unlink_locked(node);
    w = static_cast<executor::detail::Waker&&>(node->waker);
  }
  w.drop();
}

std::size_t timers_queued() noexcept {
  CriticalSection cs;
  std::size_t n = 0;
  for (TimerNode* p = g_head; p != nullptr; p = p->next) ++n;
  return n;
}

void systick_isr() noexcept {
  CriticalSection cs;
  ++g_ticks;
  while (g_head != nullptr && g_head->deadline <= g_ticks) {
    TimerNode* n = g_head;
    unlink_locked(n);
    // Only queues the task (Waker::wake never resumes it); the loop runs it later.
    n->waker.wake();
  }
}

void reset_timers_for_test() noexcept {
  CriticalSection cs;
  if (g_head != nullptr) executor::detail::fatal("reset_timers_for_test: timers still queued");
  g_ticks = 0;
  g_tick_started = false;
}

}  // namespace internal
}  // namespace executor::cortexm
