// executor::JoinHandle<T>: the owner's view of a spawned task.
//
// `co_await handle.join()` (or `co_await std::move(handle)`) waits for the task to finish and
// yields its result, or rethrows the exception it threw. A handle can be joined once.
//
// Dropping a handle (or calling detach()) never cancels the task: a spawned task runs to
// completion unless someone calls abort() on its handle. If a task nobody joins throws, the
// exception is logged to stderr with the task id.
//
// abort() is the one way to stop a single spawned task from outside: the task's frame is
// destroyed by a worker at its current suspension point (never while it runs; a task busy in a
// long synchronous slice is stopped when it next suspends), the way executor::timeout cancels its
// child. Every awaiter of this library unlinks itself and RAII objects in the frame run their
// destructors, but code after the suspension point does not run: a task that must finish what it
// started (a two-step update protected only by running to the end) should be told to stop with a
// CancellationToken instead, and finish on its own terms. To stop a whole group, see
// <executor/join_set.hpp>.
//
// Thread safety: a handle is owned by one thread at a time (move it freely); is_finished() may
// race with the task's completion. Memory ordering: everything the task wrote happens-before the
// join returns. Cancellation: if the coroutine awaiting join() is destroyed while suspended, its
// registration is withdrawn and the task detaches; the task itself keeps running.
// Errors: joining an empty (moved-from or already joined) handle throws std::logic_error.
#pragma once

#include <cstdint>
#include <utility>

#include <executor/detail/task_cell.hpp>
#include <executor/detail/task_header.hpp>
#if EXECUTOR_HAS_EXCEPTIONS
#include <stdexcept>
#endif

namespace executor {

template <class T>
class JoinHandle;

namespace detail {
template <class T>
JoinHandle<T> make_join_handle(TaskCell<T>* cell) noexcept;
}

template <class T = void>
class [[nodiscard]] JoinHandle {
 public:
  JoinHandle() noexcept = default;
  JoinHandle(JoinHandle&& other) noexcept : cell_(std::exchange(other.cell_, nullptr)) {}
  JoinHandle& operator=(JoinHandle&& other) noexcept {
    if (this != &other) {
      detach();
      cell_ = std::exchange(other.cell_, nullptr);
    }
    return *this;
  }
  JoinHandle(const JoinHandle&) = delete;
  JoinHandle& operator=(const JoinHandle&) = delete;
  ~JoinHandle() { detach(); }

  // Lets the task run on unobserved. The handle becomes empty.
  void detach() noexcept {
    if (auto* c = std::exchange(cell_, nullptr)) detail::detach_join(c);
  }

  bool valid() const noexcept { return cell_ != nullptr; }
  // True once the task has finished (value, exception or cancellation). Acquire: if true, the
  // task's writes are visible.
  bool is_finished() const noexcept {
    return cell_ != nullptr &&
           (cell_->state.load(std::memory_order_acquire) & detail::state::kComplete) != 0;
  }
  // Process-unique id of the task (also printed when its unobserved exception is logged).
  std::uint64_t id() const noexcept { return cell_ != nullptr ? cell_->id : 0; }

  class JoinAwaiter {
   public:
    explicit JoinAwaiter(detail::TaskCell<T>* cell) noexcept : cell_(cell) {}
    JoinAwaiter(JoinAwaiter&& o) noexcept
        : cell_(std::exchange(o.cell_, nullptr)), registered_(o.registered_) {}
    JoinAwaiter(const JoinAwaiter&) = delete;
    JoinAwaiter& operator=(const JoinAwaiter&) = delete;
    ~JoinAwaiter() {
      if (cell_ == nullptr) return;
      if (registered_) withdraw();
      detail::detach_join(cell_);
    }

    bool await_ready() const noexcept {
      return cell_ == nullptr ||
             (cell_->state.load(std::memory_order_acquire) & detail::state::kComplete) != 0;
    }
    bool await_suspend(std::coroutine_handle<> h) noexcept {
      using namespace detail::state;
      cell_->join_waker = detail::Waker::current(h);
      // acq_rel: release publishes join_waker to the completer (acquire in complete); acquire
      // makes the result visible if the task completed first.
      Word prev = cell_->state.fetch_or(kJoinWaker, std::memory_order_acq_rel);
      if ((prev & kComplete) != 0) {
        cell_->join_waker.drop();  // the completer did not see our waker: take it back
        return false;
      }
      registered_ = true;
      return true;
    }
    T await_resume() {
      if (cell_ == nullptr) throw_empty();
      registered_ = false;
      detail::TaskCell<T>* c = std::exchange(cell_, nullptr);
      struct Release {
        detail::TaskCell<T>* c;
        ~Release() { detail::ref_dec(c); }
      } release{c};
      return c->result().take();
    }

   private:
    // The awaiting frame is being destroyed while suspended: take the waker back unless the
    // completer already took it (then the completer's wake is stale or harmless).
    void withdraw() noexcept {
      using namespace detail::state;
      Word s = cell_->state.load(std::memory_order_acquire);
      while ((s & kComplete) == 0) {
        if (cell_->state.compare_exchange_weak(s, s & ~kJoinWaker, std::memory_order_acq_rel,
                                               std::memory_order_acquire)) {
          cell_->join_waker.drop();
          return;
        }
      }
    }
    [[noreturn]] static void throw_empty() {
#if EXECUTOR_HAS_EXCEPTIONS
      throw std::logic_error("executor: join() on an empty JoinHandle");
#else
      __builtin_trap();
#endif
    }
    detail::TaskCell<T>* cell_;
    bool registered_ = false;
  };

  // Waits for the task and yields its result. The handle is empty afterwards.
  JoinAwaiter join() noexcept {
    return JoinAwaiter(std::exchange(cell_, nullptr));
  }
  JoinAwaiter operator co_await() && noexcept {
    return join();
  }

  // Asks the task to stop (see the header comment). Returns at once; join() then yields the
  // task's result if it finished first, or throws executor::TaskCancelled. Calling it again, on
  // a finished task or on an empty handle does nothing. The handle may be dropped afterwards:
  // the abort still happens.
  void abort() noexcept {
    if (cell_ != nullptr) detail::abort_task(cell_);
  }

  // For combinators in this library: request that the task be cancelled (its frame destroyed by
  // a worker at its next scheduling point). Not part of the user API: spawned tasks always run
  // to completion unless a combinator that owns them says otherwise.
  void abort_for_combinator() noexcept {
    if (cell_ != nullptr) detail::abort_task(cell_);
  }
  // For combinators: registers `w` to be woken when the task completes. Returns false (and
  // drops `w`) if it already has. At most one registration at a time; withdraw it with
  // clear_waker_for_combinator() before registering again or joining.
  bool set_waker_for_combinator(detail::Waker w) noexcept {
    using namespace detail::state;
    cell_->join_waker = std::move(w);
    // acq_rel: see JoinAwaiter::await_suspend.
    if ((cell_->state.fetch_or(kJoinWaker, std::memory_order_acq_rel) & kComplete) != 0) {
      cell_->join_waker.drop();
      return false;
    }
    return true;
  }
  void clear_waker_for_combinator() noexcept {
    using namespace detail::state;
    Word s = cell_->state.load(std::memory_order_acquire);
    while ((s & kComplete) == 0) {
      if (cell_->state.compare_exchange_weak(s, s & ~kJoinWaker, std::memory_order_acq_rel,
                                             std::memory_order_acquire)) {
        cell_->join_waker.drop();
        return;
      }
    }
  }

 private:
  friend JoinHandle detail::make_join_handle<T>(detail::TaskCell<T>*) noexcept;
  explicit JoinHandle(detail::TaskCell<T>* cell) noexcept : cell_(cell) {}
  detail::TaskCell<T>* cell_ = nullptr;
};

namespace detail {
template <class T>
JoinHandle<T> make_join_handle(TaskCell<T>* cell) noexcept {
  return JoinHandle<T>(cell);
}
}  // namespace detail

}  // namespace executor
