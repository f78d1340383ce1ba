// executor::spawn: start a task on the runtime.
//
//   JoinHandle<T> spawn(Task<T> task);
//   JoinHandle<R> spawn(F f, Args... args);   // f(args...) returns Task<R>
//
// The task is scheduled immediately and runs concurrently with the caller, on any worker. The
// callable form moves `f` and every argument into the task's frame before the first suspension,
// so capturing lambdas and references to temporaries cannot dangle (C++ Core Guidelines CP.51).
//
// Thread safety: callable from any thread. From a task, the task joins the same runtime; from
// other threads, the process's current Runtime (the most recently constructed live one).
// Errors: std::logic_error if there is no runtime; std::bad_alloc if the frame cannot be
// allocated. Cancellation: none; the task runs to completion (see JoinHandle).
#pragma once

#include <functional>
#include <type_traits>
#include <utility>

#include <executor/detail/task_cell.hpp>
#include <executor/join_handle.hpp>
#include <executor/task.hpp>
#if EXECUTOR_HAS_EXCEPTIONS
#include <stdexcept>
#endif

namespace executor {

namespace detail {

[[noreturn]] inline void throw_no_runtime() {
#if EXECUTOR_HAS_EXCEPTIONS
  throw std::logic_error("executor::spawn: no runtime (create an executor::Runtime first)");
#else
  __builtin_trap();
#endif
}

template <class T>
JoinHandle<T> spawn_on(Scheduler* sched, Task<T> task) {
  if (sched == nullptr) throw_no_runtime();
  if (!task.valid()) throw_bad_alloc();
  auto* cell = new TaskCell<T>(task.handle());
  if (cell == nullptr) throw_bad_alloc();  // `task` still owns (and frees) the frame
  (void)task.release();
  JoinHandle<T> handle = make_join_handle(cell);
  spawn_task(cell, sched);
  return handle;
}

// The frame of this coroutine owns f and args for the task's whole life. The arguments are
// moved into the call (it happens once); `f` itself stays in this frame, so a lambda's captures
// outlive the coroutine it returns.
template <class F, class... Args>
auto invoke_task(F f, Args... args)
    -> Task<typename std::invoke_result_t<F&, Args&&...>::value_type> {
  using R = typename std::invoke_result_t<F&, Args&&...>::value_type;
  if constexpr (std::is_void_v<R>) {
    co_await std::invoke(f, std::move(args)...);
  } else {
    co_return co_await std::invoke(f, std::move(args)...);
  }
}

}  // namespace detail

template <class T>
JoinHandle<T> spawn(Task<T> task) {
  return detail::spawn_on(detail::current_scheduler(), std::move(task));
}

template <class F, class... Args>
requires(!detail::is_task_v<std::decay_t<F>>) auto spawn(F&& f, Args&&... args) {
  using Ret = std::invoke_result_t<std::decay_t<F>&, std::decay_t<Args>&&...>;
  static_assert(detail::is_task_v<Ret>,
                "executor::spawn(f, args...): f(args...) must return an executor::Task<T>");
  return spawn(detail::invoke_task(std::decay_t<F>(std::forward<F>(f)),
                                   std::decay_t<Args>(std::forward<Args>(args))...));
}

}  // namespace executor
