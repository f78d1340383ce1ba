// executor::TaskResultBundle<T>: run several fallible tasks as one unit.
//
//   executor::TaskResultBundle<void> bundle(executor::signals::new_shutdown_token());
//   bundle.add("accept", accept_loop, bundle.token(), std::ref(listener));
//   bundle.add("metrics", metrics_loop, bundle.token());
//   bundle.add("config", watch_config, bundle.token(), path);
//   co_await bundle.join_all();   // all stopped (e.g. on SIGTERM), or throws the first failure
//
// Policy (fail fast, then drain):
//   * add() spawns the task at once; it runs concurrently with the others and with the owner.
//   * A task *fails* when it throws (anything, std::exception or not). On the first failure the
//     bundle cancels its token() so that the other tasks stop early. Cancellation is
//     cooperative: the bundle never destroys a task; each task stops when it observes the token.
//   * `co_await bundle.join_all()` completes when every task added so far has finished. If one
//     failed, it then throws executor::TaskFailed for the *first* failure, which names the task
//     (index and name) and carries its original exception; later failures are available through
//     error(i). With no tasks, join_all() completes at once.
//   * Results of the tasks that succeeded stay retrievable: result(i) / succeeded(i).
// Errors are exceptions throughout, as for JoinHandle: a task's failure is what it threw.
// Tasks that report expected outcomes as absl::Status values are not failures unless they throw.
//
// Destruction: destroying a bundle never cancels or destroys its tasks. Tasks still running keep
// running to completion, holding the shared state alive until the last one ends; their results
// are discarded. Failures nobody can observe any more are logged to stderr with the task's name
// (like a detached task's exception): those recorded but never reported (by join_all or
// error(i)) when the bundle is destroyed, and those of tasks that fail afterwards. Cancel the
// token first (bundle.cancel()) if the tasks should stop. A moved-from bundle may only be
// destroyed or assigned to.
//
// Thread safety: a bundle object is owned by one thread at a time (like a JoinHandle); its tasks
// finish on any worker. join_all() may be awaited by several tasks at once, and again after it
// completed (e.g. after adding more tasks). Memory ordering: everything a task did happens-before
// join_all() completes, and before succeeded(i)/error(i) report it finished.
// Cancellation: destroying a coroutine suspended in join_all() unlinks its waiter; the tasks are
// unaffected.
// Memory: one shared state per bundle; per task, a task cell plus a small slot (name, result).
#pragma once

#include <coroutine>
#include <cstddef>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include <executor/cancellation_token.hpp>
#include <executor/detail/task_header.hpp>
#include <executor/export.hpp>
#include <executor/spawn.hpp>
#include <executor/task.hpp>

namespace executor {

// The first failure of a TaskResultBundle: which task failed, and with what.
// what(): "executor::TaskResultBundle: task 'config' (#2) failed: <the original's what()>".
class EXECUTOR_API TaskFailed : public std::runtime_error {
 public:
  TaskFailed(std::size_t index, std::string name, std::exception_ptr original);
  std::size_t index() const noexcept { return index_; }
  const std::string& name() const noexcept { return name_; }
  const std::exception_ptr& original() const noexcept { return original_; }
  [[noreturn]] void rethrow_original() const { std::rethrow_exception(original_); }

 private:
  std::size_t index_;
  std::string name_;
  std::exception_ptr original_;
};

namespace detail {

// A coroutine suspended in join_all(). Its links and `list` are guarded by BundleCore's lock.
struct BundleWaiter {
  BundleWaiter* prev = nullptr;
  BundleWaiter* next = nullptr;
  enum class List : unsigned char { kNone, kWaiting, kWaking } list = List::kNone;
  Waker waker;
};

// The type-independent part of a bundle's shared state (src/task_result_bundle.cpp).
//
// Design: one mutex guards the task list, the running count, the first failure and the waiter
// list. A task's wrapper stores its value in its own slot (no lock: the slot is written only by
// that wrapper, and read only after finish() marked it done under the lock), then calls
// finish(), which records the outcome and, when nothing runs any more, moves every waiter to the
// "waking" list; it then drains that list in batches (wakers moved out under the lock, woken
// after unlocking). A waiter destroyed meanwhile unlinks itself from whichever list holds it.
// The token is cancelled on the first failure, after unlocking (its callbacks run there).
class EXECUTOR_API BundleCore {
 public:
  explicit BundleCore(CancellationToken token) noexcept : token_(std::move(token)) {}
  BundleCore(const BundleCore&) = delete;
  BundleCore& operator=(const BundleCore&) = delete;

  const CancellationToken& token() const noexcept { return token_; }

  // Owner: registers a task about to be spawned; returns its index.
  std::size_t begin_task(std::string name);
  // Owner: the spawn of the last begun task failed; forget it.
  void abort_begin(std::size_t index) noexcept;
  // Any thread, once per task: task `index` finished with `error` (null: success).
  void finish(std::size_t index, std::exception_ptr error) noexcept;
  // Owner, from the bundle's destructor: log unreported failures, and later ones as they come.
  void abandon() noexcept;

  // join_all's awaiter: false if nothing runs (then the waiter is not linked).
  bool link_waiter(BundleWaiter* w) noexcept;
  // Unlinks `w` if a list still holds it and drops its waker (else the waker was taken).
  void unlink_waiter(BundleWaiter* w) noexcept;
  bool idle() const noexcept;
  // After join_all: throws TaskFailed for the first failure, if any.
  void throw_if_failed() const;

  std::size_t size() const noexcept;
  std::size_t running() const noexcept;
  bool finished(std::size_t index) const;
  bool succeeded(std::size_t index) const;
  std::exception_ptr error(std::size_t index) const;
  std::string name(std::size_t index) const;

 private:
  struct TaskInfo {
    std::string name;
    bool done = false;
    mutable bool observed = false;  // its error was reported by join_all() or read with error(i)
    std::exception_ptr error;
  };
  const TaskInfo& info(std::size_t index) const;  // caller holds mu_; throws out_of_range

  void drain_waking() noexcept;

  CancellationToken token_;  // immutable after construction
  mutable std::mutex mu_;
  // --- guarded by mu_ ---
  std::deque<TaskInfo> tasks_;
  std::size_t running_ = 0;
  std::size_t first_failure_ = kNone;
  bool abandoned_ = false;
  BundleWaiter* waiting_ = nullptr;  // suspended in join_all (doubly linked, unordered)
  BundleWaiter* waking_ = nullptr;   // their tasks all finished; being woken by finish()
  static constexpr std::size_t kNone = static_cast<std::size_t>(-1);
};

template <class T>
struct BundleState final : BundleCore {
  using BundleCore::BundleCore;
  // Slot i belongs to task i. Elements never move (deque push_back); the container itself is
  // only grown by the owner, and a wrapper reaches its slot through a pointer taken at add().
  std::deque<std::optional<T>> values;
};
template <>
struct BundleState<void> final : BundleCore {
  using BundleCore::BundleCore;
};

template <class T>
Task<void> bundle_task(std::shared_ptr<BundleState<T>> st, std::size_t index,
                       std::optional<T>* slot, Task<T> task) {
  std::exception_ptr error;
  try {
    T v = co_await std::move(task);
    slot->emplace(std::move(v));
  } catch (...) {
    error = std::current_exception();
  }
  st->finish(index, std::move(error));
}

inline Task<void> bundle_task_void(std::shared_ptr<BundleState<void>> st, std::size_t index,
                                   Task<void> task) {
  std::exception_ptr error;
  try {
    co_await std::move(task);
  } catch (...) {
    error = std::current_exception();
  }
  st->finish(index, std::move(error));
}

}  // namespace detail

template <class T = void>
class TaskResultBundle {
 public:
  // A bundle with a fresh token.
  TaskResultBundle() : TaskResultBundle(CancellationToken()) {}
  // A bundle whose token is a child of `parent` (e.g. a shutdown token): cancelling the parent
  // stops the bundle's tasks; a failure in the bundle does not cancel the parent.
  explicit TaskResultBundle(const CancellationToken& parent)
      : st_(std::make_shared<detail::BundleState<T>>(parent.child())) {}
  TaskResultBundle(TaskResultBundle&&) noexcept = default;
  TaskResultBundle& operator=(TaskResultBundle&& other) noexcept {
    if (this != &other) {
      if (st_) st_->abandon();
      st_ = std::move(other.st_);
    }
    return *this;
  }
  TaskResultBundle(const TaskResultBundle&) = delete;
  TaskResultBundle& operator=(const TaskResultBundle&) = delete;
  // Tasks keep running; see "Destruction" above.
  ~TaskResultBundle() {
    if (st_) st_->abandon();
  }

  // The bundle's token: hand it to the tasks so they can stop cooperatively.
  const CancellationToken& token() const noexcept { return st_->token(); }
  // Asks every task to stop (cancels token()). Returns false if it already was cancelled.
  bool cancel() noexcept { return CancellationToken(st_->token()).cancel(); }

  // Spawns `task` into the bundle; returns its index. The name (default "#<index>") appears in
  // TaskFailed. Errors: as executor::spawn (no runtime, allocation); the bundle is unchanged.
  std::size_t add(Task<T> task) { return add_impl({}, std::move(task)); }
  std::size_t add(std::string_view name, Task<T> task) {
    return add_impl(std::string(name), std::move(task));
  }
  // Callable forms (like executor::spawn(f, args...): f and args are moved into the task).
  template <class F, class... Args>
  requires(!detail::is_task_v<std::decay_t<F>> && !std::is_convertible_v<F, std::string_view> &&
           std::is_invocable_v<std::decay_t<F>&, std::decay_t<Args>&&...>) std::size_t
      add(F&& f, Args&&... args) {
    return add_impl({}, make_task(std::forward<F>(f), std::forward<Args>(args)...));
  }
  template <class F, class... Args>
  requires(!detail::is_task_v<std::decay_t<F>> &&
           std::is_invocable_v<std::decay_t<F>&, std::decay_t<Args>&&...>) std::size_t
      add(std::string_view name, F&& f, Args&&... args) {
    return add_impl(std::string(name), make_task(std::forward<F>(f), std::forward<Args>(args)...));
  }

  class JoinAllAwaiter {
   public:
    explicit JoinAllAwaiter(std::shared_ptr<detail::BundleState<T>> st) noexcept
        : st_(std::move(st)) {}
    JoinAllAwaiter(const JoinAllAwaiter&) = delete;
    JoinAllAwaiter& operator=(const JoinAllAwaiter&) = delete;
    ~JoinAllAwaiter() {
      if (suspended_) st_->unlink_waiter(&waiter_);
    }
    bool await_ready() const noexcept { return st_->idle(); }
    bool await_suspend(std::coroutine_handle<> h) noexcept {
      waiter_.waker = detail::Waker::current(h);
      if (!st_->link_waiter(&waiter_)) {  // everything finished meanwhile
        waiter_.waker.drop();
        return false;
      }
      suspended_ = true;
      return true;
    }
    // Throws TaskFailed if a task failed. (Resumed only by finish(), which unlinked us.)
    void await_resume() {
      suspended_ = false;
      st_->throw_if_failed();
    }

   private:
    std::shared_ptr<detail::BundleState<T>> st_;
    detail::BundleWaiter waiter_;
    bool suspended_ = false;
  };

  // Completes when every task added so far has finished; throws TaskFailed for the first
  // failure (see the policy above).
  [[nodiscard]] JoinAllAwaiter join_all() const noexcept { return JoinAllAwaiter(st_); }

  std::size_t size() const noexcept { return st_->size(); }
  // Tasks not finished yet.
  std::size_t running() const noexcept { return st_->running(); }
  // Per task (index from add; std::out_of_range if invalid). error(i) is null unless task i
  // failed (reading it counts as reporting the failure).
  bool finished(std::size_t i) const { return st_->finished(i); }
  bool succeeded(std::size_t i) const { return st_->succeeded(i); }
  std::exception_ptr error(std::size_t i) const { return st_->error(i); }
  std::string name(std::size_t i) const { return st_->name(i); }

  // The value of task i if it succeeded, nullptr if it failed, has not finished or was taken.
  template <class U = T>
  requires(!std::is_void_v<U>) const U* result(std::size_t i) const {
    if (!st_->succeeded(i)) return nullptr;  // (acquires the lock: the value is visible)
    const std::optional<U>& v = st_->values[i];
    return v ? &*v : nullptr;
  }
  // Moves the value of task i out (std::nullopt if it failed or has not finished, or was taken).
  template <class U = T>
  requires(!std::is_void_v<U>) std::optional<U> take_result(std::size_t i) {
    if (!st_->succeeded(i)) return std::nullopt;
    return std::exchange(st_->values[i], std::nullopt);
  }

 private:
  template <class F, class... Args>
  static Task<T> make_task(F&& f, Args&&... args) {
    using R = typename std::invoke_result_t<std::decay_t<F>&, std::decay_t<Args>&&...>::value_type;
    static_assert(std::is_same_v<R, T>, "TaskResultBundle<T>::add: f(args...) must return Task<T>");
    return detail::invoke_task(std::decay_t<F>(std::forward<F>(f)),
                               std::decay_t<Args>(std::forward<Args>(args))...);
  }

  std::size_t add_impl(std::string name, Task<T> task) {
    std::size_t i = st_->begin_task(std::move(name));
    try {
      if constexpr (std::is_void_v<T>) {
        spawn(detail::bundle_task_void(st_, i, std::move(task))).detach();
      } else {
        std::optional<T>* slot = &st_->values.emplace_back();
        try {
          spawn(detail::bundle_task<T>(st_, i, slot, std::move(task))).detach();
        } catch (...) {
          st_->values.pop_back();
          throw;
        }
      }
    } catch (...) {
      st_->abort_begin(i);
      throw;
    }
    return i;
  }

  std::shared_ptr<detail::BundleState<T>> st_;
};

}  // namespace executor
