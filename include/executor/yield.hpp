// executor::yield_now(): lets other ready tasks run, then resumes on any worker.
//
// Cancellation: nothing is registered anywhere; destroying the awaiting frame is always safe.
// Thread safety: only meaningful inside a task.
#pragma once

#include <coroutine>

#include <executor/detail/task_header.hpp>

namespace executor {

class YieldAwaiter {
 public:
  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> h) const noexcept {
    detail::TaskHeader* t = detail::context().task;
    if (t == nullptr) detail::fatal("executor::yield_now: called outside of a task");
    t->resume_point = h;
    detail::notify_self(t);  // the worker re-queues the task at the back when this run ends
  }
  void await_resume() const noexcept {}
};

[[nodiscard]] inline YieldAwaiter yield_now() noexcept {
  return {};
}

}  // namespace executor
