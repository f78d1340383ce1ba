// Value-or-exception storage for task results. Portable: without exceptions it holds a value or
// the "cancelled" mark only.
#pragma once

#include <cstdint>
#include <new>
#include <type_traits>
#include <utility>

#include <executor/detail/config.hpp>
#if EXECUTOR_HAS_EXCEPTIONS
#include <exception>
#include <stdexcept>
#endif

namespace executor {

#if EXECUTOR_HAS_EXCEPTIONS
// Thrown by joining a task whose frame was destroyed before it finished (runtime teardown or an
// aborted child of a combinator).
class TaskCancelled : public std::runtime_error {
 public:
  TaskCancelled() : std::runtime_error("executor: task was cancelled before it finished") {}
};
#endif

namespace detail {

enum class ResultState : std::uint8_t { kEmpty, kValue, kException, kCancelled };

template <class T>
class Result {
 public:
  Result() noexcept {}
  Result(const Result&) = delete;
  Result& operator=(const Result&) = delete;
  ~Result() { reset(); }

  template <class U>
  void set_value(U&& v) noexcept(std::is_nothrow_constructible_v<T, U&&>) {
    reset();
    ::new (static_cast<void*>(&value_)) T(std::forward<U>(v));
    state_ = ResultState::kValue;
  }
#if EXECUTOR_HAS_EXCEPTIONS
  void set_exception(std::exception_ptr e) noexcept {
    reset();
    ::new (static_cast<void*>(&error_)) std::exception_ptr(std::move(e));
    state_ = ResultState::kException;
  }
  const std::exception_ptr* exception() const noexcept {
    return state_ == ResultState::kException ? &error_ : nullptr;
  }
#endif
  void set_cancelled() noexcept {
    reset();
    state_ = ResultState::kCancelled;
  }
  ResultState state() const noexcept {
    return state_;
  }

  // Moves the content into `other` (leaves this empty).
  void move_to(Result& other) noexcept(std::is_nothrow_move_constructible_v<T>) {
    switch (state_) {
      case ResultState::kValue:
        other.set_value(std::move(value_));
        break;
#if EXECUTOR_HAS_EXCEPTIONS
      case ResultState::kException:
        other.set_exception(std::move(error_));
        break;
#endif
      case ResultState::kCancelled:
        other.set_cancelled();
        break;
      default:
        break;
    }
    reset();
  }

  // Returns the value or rethrows the stored exception (TaskCancelled when cancelled).
  T take() {
    switch (state_) {
      case ResultState::kValue: {
        T v(std::move(value_));
        reset();
        return v;
      }
#if EXECUTOR_HAS_EXCEPTIONS
      case ResultState::kException: {
        std::exception_ptr e = std::move(error_);
        reset();
        std::rethrow_exception(std::move(e));
      }
      case ResultState::kCancelled:
        throw TaskCancelled();
#endif
      default:
        __builtin_trap();  // no result: a bug in the runtime or an invalid (moved-from) task
    }
  }

 private:
  void reset() noexcept {
    if (state_ == ResultState::kValue) value_.~T();
#if EXECUTOR_HAS_EXCEPTIONS
    if (state_ == ResultState::kException) error_.~exception_ptr();
#endif
    state_ = ResultState::kEmpty;
  }
  union {
    T value_;
#if EXECUTOR_HAS_EXCEPTIONS
    std::exception_ptr error_;
#endif
  };
  ResultState state_ = ResultState::kEmpty;
};

template <>
class Result<void> {
 public:
  Result() noexcept = default;
  Result(const Result&) = delete;
  Result& operator=(const Result&) = delete;

  void set_value() noexcept {
    reset();
    state_ = ResultState::kValue;
  }
#if EXECUTOR_HAS_EXCEPTIONS
  void set_exception(std::exception_ptr e) noexcept {
    error_ = std::move(e);
    state_ = ResultState::kException;
  }
  const std::exception_ptr* exception() const noexcept {
    return state_ == ResultState::kException ? &error_ : nullptr;
  }
#endif
  void set_cancelled() noexcept {
    reset();
    state_ = ResultState::kCancelled;
  }
  ResultState state() const noexcept {
    return state_;
  }
  void move_to(Result& other) noexcept {
    switch (state_) {
      case ResultState::kValue:
        other.set_value();
        break;
#if EXECUTOR_HAS_EXCEPTIONS
      case ResultState::kException:
        other.set_exception(std::move(error_));
        break;
#endif
      case ResultState::kCancelled:
        other.set_cancelled();
        break;
      default:
        break;
    }
    reset();
  }
  void take() {
    ResultState s = state_;
#if EXECUTOR_HAS_EXCEPTIONS
    std::exception_ptr e = std::move(error_);
#endif
    reset();
    switch (s) {
      case ResultState::kValue:
        return;
#if EXECUTOR_HAS_EXCEPTIONS
      case ResultState::kException:
        std::rethrow_exception(std::move(e));
      case ResultState::kCancelled:
        throw TaskCancelled();
#endif
      default:
        __builtin_trap();
    }
  }

 private:
  void reset() noexcept {
#if EXECUTOR_HAS_EXCEPTIONS
    error_ = nullptr;
#endif
    state_ = ResultState::kEmpty;
  }
#if EXECUTOR_HAS_EXCEPTIONS
  std::exception_ptr error_;
#endif
  ResultState state_ = ResultState::kEmpty;
};

}  // namespace detail
}  // namespace executor
