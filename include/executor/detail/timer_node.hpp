// A timer registration, embedded in the awaiter that waits for it (no allocation).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

#include <executor/detail/task_header.hpp>
#include <executor/export.hpp>

namespace executor::detail {

struct TimerNode {
  static constexpr std::uint32_t kNotQueued = UINT32_MAX;
  std::chrono::steady_clock::time_point deadline{};
  void* owner = nullptr;  // the timer service holding the node, set while queued
  // The owner's links and slot (see runtime/linux/timer_wheel.hpp). Written only under the
  // owner's lock; `slot` is atomic so that a cancel can see "already fired" without the lock.
  TimerNode* prev = nullptr;
  TimerNode* next = nullptr;
  std::atomic<std::uint32_t> slot{kNotQueued};
  Waker waker;  // moved out by the owner when the timer fires
};

// Arms `node` on the running task's runtime. The node's waker fires at or after its deadline.
EXECUTOR_API void timer_insert(TimerNode* node);
// Disarms `node` if still queued; drops its waker. Safe if it already fired (then lock-free).
EXECUTOR_API void timer_cancel(TimerNode* node) noexcept;

}  // namespace executor::detail
