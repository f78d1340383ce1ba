// The Cortex-M executor loop and its detail::Scheduler (see <executor/cortexm/executor.hpp>).
// Portable: the machine is reached only through port.hpp and critical_section.hpp.
#include <executor/cortexm/executor.hpp>

#include <executor/cortexm/clock.hpp>
#include <executor/cortexm/critical_section.hpp>
#include <executor/detail/task_header.hpp>

#include "port.hpp"

namespace executor::cortexm {

namespace {
constinit Executor g_executor;

// Preconditions shared by every entry into the loop. Returns the PRIMASK found (0).
std::uint32_t enter_loop(const char* who) noexcept {
  if (port::in_handler()) executor::detail::fatal(who);
  if (executor::detail::context().task != nullptr) executor::detail::fatal(who);
  std::uint32_t saved = irq_save();
  if (saved != 0) executor::detail::fatal(who);
  return saved;
}
}  // namespace

Executor& executor() noexcept {
  return g_executor;
}

const char* to_string(SpawnError e) noexcept {
  switch (e) {
    case SpawnError::kNone:
      return "no error";
    case SpawnError::kOutOfFrames:
      return "out of frames: no frame-pool block for the task";
  }
  return "unknown SpawnError";
}

void Executor::schedule(executor::detail::TaskHeader* t) noexcept {
  CriticalSection cs;
  t->queue_next = nullptr;
  if (tail_ != nullptr) {
    tail_->queue_next = t;
  } else {
    head_ = t;
  }
  tail_ = t;
  ++ready_;
}

executor::detail::TaskHeader* Executor::pop() noexcept {
  CriticalSection cs;
  executor::detail::TaskHeader* t = head_;
  if (t != nullptr) {
    head_ = t->queue_next;
    if (head_ == nullptr) tail_ = nullptr;
    t->queue_next = nullptr;
    --ready_;
  }
  return t;
}

void Executor::attach(executor::detail::TaskHeader* t) noexcept {
  CriticalSection cs;
  t->reg_prev = nullptr;
  t->reg_next = registry_;
  if (registry_ != nullptr) registry_->reg_prev = t;
  registry_ = t;
  ++live_;
}

void Executor::detach(executor::detail::TaskHeader* t) noexcept {
  CriticalSection cs;
  if (t->reg_prev != nullptr) {
    t->reg_prev->reg_next = t->reg_next;
  } else {
    registry_ = t->reg_next;
  }
  if (t->reg_next != nullptr) t->reg_next->reg_prev = t->reg_prev;
  t->reg_prev = t->reg_next = nullptr;
  --live_;
}

std::size_t Executor::run_ready() noexcept {
  std::uint32_t saved = enter_loop(
      "executor::cortexm: run_ready() needs thread mode, interrupts enabled, outside of a task");
  std::size_t runs = 0;
  for (;;) {
    port::irq_window();  // pending handlers run here and may queue more tasks
    executor::detail::TaskHeader* t = pop();
    if (t == nullptr) break;
    executor::detail::run_task(t);  // interrupts stay masked for the whole run
    ++runs;
  }
  irq_restore(saved);
  return runs;
}

void Executor::run_until_impl(bool (*done)(const void*), const void* arg) noexcept {
  if (!tick_started()) start_tick(EXECUTOR_CORTEXM_CPU_HZ);
  std::uint32_t saved = enter_loop(
      "executor::cortexm: run_until()/block_on()/run() need thread mode, interrupts enabled, "
      "outside of a task");
  while (!done(arg)) {
    if (executor::detail::TaskHeader* t = pop()) {
      executor::detail::run_task(t);
    } else {
      // PRIMASK is set: an interrupt pending now, or becoming pending before the WFI, ends it.
      port::wait_for_interrupt();
    }
    port::irq_window();
  }
  irq_restore(saved);
}

void Executor::run() noexcept {
  run_until_impl([](const void*) { return false; }, nullptr);
  executor::detail::fatal("executor::cortexm: run() returned");
}

void Executor::shutdown() noexcept {
  if (port::in_handler() || executor::detail::context().task != nullptr) {
    executor::detail::fatal("executor::cortexm: shutdown() needs thread mode, outside of a task");
  }
  // Cancelling one task may wake or detach others (its awaiters' destructors run), which only
  // queues them: drain the queue after each cancellation and once more at the end.
  auto drain = [this] {
    while (executor::detail::TaskHeader* t = pop()) executor::detail::release_queued(t);
  };
  for (;;) {
    drain();
    executor::detail::TaskHeader* t;
    {
      CriticalSection cs;
      t = registry_;
    }
    if (t == nullptr) break;
    executor::detail::teardown_task(t);  // cancels and completes: detach() unlinks it
  }
  drain();
}

}  // namespace executor::cortexm

namespace executor::detail {

void fatal(const char* message) noexcept {
  executor::cortexm::port::panic(message);
}

}  // namespace executor::detail
