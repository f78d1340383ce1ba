// A timer registration, embedded in the awaiter that waits for it (no allocation).
#pragma once

#include <chrono>
#include <cstddef>

#include <executor/detail/task_header.hpp>
#include <executor/export.hpp>

namespace executor::detail {

struct TimerNode {
  static constexpr std::size_t kNotQueued = static_cast<std::size_t>(-1);
  std::chrono::steady_clock::time_point deadline{};
  void* owner = nullptr;                // the timer service holding the node, set while queued
  std::size_t heap_index = kNotQueued;  // guarded by the owner's lock
  Waker waker;                          // moved out by the owner when the timer fires
};

// Arms `node` on the running task's runtime. The node's waker fires at or after its deadline.
EXECUTOR_API void timer_insert(TimerNode* node);
// Disarms `node` if still queued; drops its waker. Safe if it already fired.
EXECUTOR_API void timer_cancel(TimerNode* node) noexcept;

}  // namespace executor::detail
