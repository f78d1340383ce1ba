// executor::sync::Result<T, E>: a value or an error code, for operations whose failures are
// expected outcomes (a closed channel, a duplicate key). Portable: no exceptions, no heap, so
// the same API works on the freestanding Cortex-M port. E is a small enum of the primitive.
//
//   Result<int, RecvError> r = co_await rx.recv();
//   if (r) use(*r); else if (r.error() == RecvError::kClosed) ...
//
// Accessing the value of an error (or the error of a value) is a programming error: it stops the
// program through executor::detail::fatal.
#pragma once

#include <new>
#include <type_traits>
#include <utility>

#include <executor/detail/task_header.hpp>

namespace executor::sync {

template <class T, class E>
class [[nodiscard]] Result {
  static_assert(!std::is_reference_v<T>, "Result<T&, E> is not supported");

 public:
  Result(T value) noexcept(std::is_nothrow_move_constructible_v<T>) : ok_(true) {
    ::new (static_cast<void*>(&value_)) T(std::move(value));
  }
  Result(E error) noexcept : error_(error), ok_(false) {}
  Result(Result&& o) noexcept(std::is_nothrow_move_constructible_v<T>) : ok_(o.ok_) {
    if (ok_) {
      ::new (static_cast<void*>(&value_)) T(std::move(o.value_));
    } else {
      error_ = o.error_;
    }
  }
  Result& operator=(Result&& o) noexcept(std::is_nothrow_move_constructible_v<T>) {
    if (this != &o) {
      reset();
      ok_ = o.ok_;
      if (ok_) {
        ::new (static_cast<void*>(&value_)) T(std::move(o.value_));
      } else {
        error_ = o.error_;
      }
    }
    return *this;
  }
  ~Result() { reset(); }

  bool has_value() const noexcept { return ok_; }
  explicit operator bool() const noexcept { return ok_; }

  T& value() & noexcept {
    check_value();
    return value_;
  }
  const T& value() const& noexcept {
    check_value();
    return value_;
  }
  T&& value() && noexcept {
    check_value();
    return std::move(value_);
  }
  T& operator*() & noexcept { return value(); }
  const T& operator*() const& noexcept { return value(); }
  T&& operator*() && noexcept { return std::move(*this).value(); }
  T* operator->() noexcept { return &value(); }
  const T* operator->() const noexcept { return &value(); }

  E error() const noexcept {
    if (ok_) executor::detail::fatal("executor::sync::Result::error() on a value");
    return error_;
  }

 private:
  void check_value() const noexcept {
    if (!ok_) executor::detail::fatal("executor::sync::Result::value() on an error");
  }
  void reset() noexcept {
    if (ok_) value_.~T();
    ok_ = false;
  }
  union {
    T value_;
    E error_;
  };
  bool ok_;
};

template <class E>
class [[nodiscard]] Result<void, E> {
 public:
  Result() noexcept : ok_(true) {}
  Result(E error) noexcept : error_(error), ok_(false) {}

  bool has_value() const noexcept { return ok_; }
  explicit operator bool() const noexcept { return ok_; }
  void value() const noexcept {
    if (!ok_) executor::detail::fatal("executor::sync::Result::value() on an error");
  }
  E error() const noexcept {
    if (ok_) executor::detail::fatal("executor::sync::Result::error() on a value");
    return error_;
  }

 private:
  E error_{};
  bool ok_;
};

}  // namespace executor::sync
