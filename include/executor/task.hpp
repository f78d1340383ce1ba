// executor::Task<T>: the lazy coroutine type of the runtime.
//
// A Task does nothing until it is awaited (by another task) or spawned (`executor::spawn`).
// Awaiting transfers control to the task symmetrically and resumes the awaiter, on the same
// thread, when the task finishes; the result is a value or the exception the task threw.
//
// Thread safety: a Task object is owned by one thread at a time; it may be moved between threads
// while it is not running.
// Cancellation: destroying a Task destroys its frame and, recursively, the frames of the tasks it
// is awaiting. Destroying a suspended Task is only safe from the thread that owns its run (the
// runtime does this for you in `abort`/teardown); every awaiter of this library unlinks itself
// when its frame is destroyed.
// Memory: one frame allocation per task, from the runtime's frame allocator. If it fails, the
// coroutine returns an invalid Task; awaiting or spawning it throws std::bad_alloc (or traps
// without exceptions).
//
// Example:
//   executor::Task<int> answer() { co_return 42; }
//   executor::Task<void> caller() { int v = co_await answer(); }
//
// HACK(GCC 12 miscompiles a co_await that is itself an if/while/switch condition, e.g.
// `if (co_await ready())`: the coroutine hangs or jumps to a bad resume point; seen with this
// Task at -O0 and -O2, reproduced in docs/architecture.md): bind the result first,
// `bool ok = co_await ready(); if (ok) ...`, or use a declaration as the condition.
#pragma once

#include <coroutine>
#include <cstddef>
#include <utility>

#include <executor/detail/config.hpp>
#include <executor/detail/frame_allocator.hpp>
#include <executor/detail/result.hpp>
#include <executor/detail/task_header.hpp>
#if EXECUTOR_HAS_EXCEPTIONS
#include <new>
#endif

namespace executor {

template <class T = void>
class Task;

namespace detail {

class TaskPromiseBase {
 public:
  static void* operator new(std::size_t size) noexcept { return allocate_frame(size); }
  static void operator delete(void* frame, std::size_t size) noexcept { free_frame(frame, size); }

  std::suspend_always initial_suspend() noexcept { return {}; }

  struct FinalAwaiter {
    bool await_ready() const noexcept { return false; }
    template <class P>
    std::coroutine_handle<> await_suspend(std::coroutine_handle<P> h) noexcept {
      std::coroutine_handle<> next = h.promise().continuation_;
      // A root task (spawned) has no continuation: control returns to the worker, which sees
      // the frame done() and completes the task.
      if (!next) return std::noop_coroutine();
      return transfer_to(next);
    }
    void await_resume() const noexcept {}
  };
  FinalAwaiter final_suspend() noexcept { return {}; }

  void set_continuation(std::coroutine_handle<> c) noexcept { continuation_ = c; }

 private:
  std::coroutine_handle<> continuation_;
};

template <class T>
class TaskPromise final : public TaskPromiseBase {
 public:
  Task<T> get_return_object() noexcept;
  static Task<T> get_return_object_on_allocation_failure() noexcept;
  template <class U>
  void return_value(U&& v) noexcept(std::is_nothrow_constructible_v<T, U&&>) {
    result_.set_value(std::forward<U>(v));
  }
  void unhandled_exception() noexcept {
#if EXECUTOR_HAS_EXCEPTIONS
    result_.set_exception(std::current_exception());
#else
    __builtin_trap();
#endif
  }
  Result<T>& result() noexcept {
    return result_;
  }

 private:
  Result<T> result_;
};

template <>
class TaskPromise<void> final : public TaskPromiseBase {
 public:
  Task<void> get_return_object() noexcept;
  static Task<void> get_return_object_on_allocation_failure() noexcept;
  void return_void() noexcept { result_.set_value(); }
  void unhandled_exception() noexcept {
#if EXECUTOR_HAS_EXCEPTIONS
    result_.set_exception(std::current_exception());
#else
    __builtin_trap();
#endif
  }
  Result<void>& result() noexcept {
    return result_;
  }

 private:
  Result<void> result_;
};

[[noreturn]] inline void throw_bad_alloc() {
#if EXECUTOR_HAS_EXCEPTIONS
  throw std::bad_alloc();
#else
  __builtin_trap();
#endif
}

}  // namespace detail

template <class T>
class [[nodiscard]] Task {
 public:
  using promise_type = detail::TaskPromise<T>;
  using handle_type = std::coroutine_handle<promise_type>;
  using value_type = T;

  Task() noexcept = default;
  explicit Task(handle_type h) noexcept : h_(h) {}
  Task(Task&& other) noexcept : h_(std::exchange(other.h_, {})) {}
  Task& operator=(Task&& other) noexcept {
    if (this != &other) {
      if (h_) h_.destroy();
      h_ = std::exchange(other.h_, {});
    }
    return *this;
  }
  Task(const Task&) = delete;
  Task& operator=(const Task&) = delete;
  ~Task() {
    if (h_) h_.destroy();
  }

  // False for a moved-from task or one whose frame could not be allocated.
  bool valid() const noexcept { return static_cast<bool>(h_); }

  class Awaiter {
   public:
    explicit Awaiter(handle_type h) noexcept : h_(h) {}
    bool await_ready() const noexcept { return !h_; }
    std::coroutine_handle<> await_suspend(std::coroutine_handle<> awaiting) noexcept {
      h_.promise().set_continuation(awaiting);
      return detail::transfer_to(h_);
    }
    T await_resume() {
      if (!h_) detail::throw_bad_alloc();
      return h_.promise().result().take();
    }

   private:
    handle_type h_;
  };

  // Awaiting starts the task and yields its result (or rethrows its exception). The Task keeps
  // owning the frame; it is freed when the Task object is destroyed.
  Awaiter operator co_await() const& noexcept { return Awaiter(h_); }
  Awaiter operator co_await() const&& noexcept { return Awaiter(h_); }

  // Transfers ownership of the frame (used by spawn).
  handle_type release() noexcept { return std::exchange(h_, {}); }
  handle_type handle() const noexcept { return h_; }

 private:
  handle_type h_;
};

namespace detail {
template <class T>
Task<T> TaskPromise<T>::get_return_object() noexcept {
  return Task<T>(std::coroutine_handle<TaskPromise<T>>::from_promise(*this));
}
template <class T>
Task<T> TaskPromise<T>::get_return_object_on_allocation_failure() noexcept {
  return Task<T>();
}
inline Task<void> TaskPromise<void>::get_return_object() noexcept {
  return Task<void>(std::coroutine_handle<TaskPromise<void>>::from_promise(*this));
}
inline Task<void> TaskPromise<void>::get_return_object_on_allocation_failure() noexcept {
  return Task<void>();
}

template <class>
inline constexpr bool is_task_v = false;
template <class T>
inline constexpr bool is_task_v<Task<T>> = true;
}  // namespace detail

}  // namespace executor
