// executor::spawn_blocking: run a blocking function on the blocking pool.
//
//   BlockingJoinHandle<R> spawn_blocking(F f, Args... args);   // R = f(args...)'s type
//
// Use it for work that would stall a worker: blocking system calls (file I/O, getaddrinfo),
// C libraries that block, long CPU-bound loops. `f` and every argument are moved into the job;
// `f(args...)` runs once on a thread of the process-wide blocking pool.
//
//   executor::Task<std::string> load(std::string path) {
//     co_return co_await executor::spawn_blocking(read_whole_file, std::move(path));
//   }
//
// GCC 12: do not write `co_await spawn_blocking([captures] {...})` in one expression; GCC 12
// destroys a capturing lambda temporary inside a co_await expression twice (a double free).
// Pass the function and its arguments separately, or name the handle first:
//   auto h = executor::spawn_blocking([path] { return read_whole_file(path); });
//   std::string text = co_await std::move(h);
// HACK(https://github.com/equeim/tremotesf2/pull/551): the compiler bug behind this note.
//
// The pool: shared by every Runtime of the process (and usable without one). Threads start on
// demand, up to `BlockingPoolOptions::max_threads` (default 512, or EXECUTOR_MAX_BLOCKING_THREADS);
// jobs beyond that wait in a FIFO queue. A thread idle for `keep_alive` (default 10 s, or
// EXECUTOR_BLOCKING_KEEP_ALIVE_MS) exits. Jobs are never interrupted: a job that waits for
// another queued job while every thread is busy deadlocks, as with any bounded pool.
// Process exit does not wait for running jobs (the pool is never torn down).
//
// Thread safety: spawn_blocking may be called from any thread, inside a task or not. A handle is
// owned by one thread at a time (move it freely); is_finished() may race with completion.
// Memory ordering: everything the job wrote happens-before join()/wait() returns (and before
// is_finished() returns true).
// Cancellation: a job cannot be interrupted once started. abort() prevents a job that has not
// started yet from running (its joiner then gets executor::TaskCancelled). Dropping the handle
// (or detach()) never cancels: the job runs and its result is discarded; an exception it throws
// is logged to stderr, as for detached tasks. If the coroutine awaiting join() is destroyed while
// suspended, its registration is withdrawn and the job is detached.
// Errors: f's exception is rethrown by join()/wait(). spawn_blocking throws std::system_error if
// no pool thread exists and none can be started, std::bad_alloc if the job cannot be allocated.
// Joining an empty handle throws std::logic_error; so does wait() on a runtime worker thread
// (it would block the worker; co_await the handle instead).
// Memory: one allocation per job (its callable, arguments and result).
#pragma once

#include <atomic>
#include <chrono>
#include <coroutine>
#include <cstdint>
#include <exception>
#include <functional>
#include <new>
#include <stdexcept>
#include <tuple>
#include <type_traits>
#include <utility>

#include <absl/status/status.h>

#include <executor/detail/result.hpp>
#include <executor/detail/task_header.hpp>
#include <executor/export.hpp>

namespace executor {

struct BlockingPoolOptions {
  // Upper bound on pool threads (1..65536).
  unsigned max_threads = 512;
  // How long an idle thread waits for a job before it exits (>= 1 ms).
  std::chrono::milliseconds keep_alive{10000};
};

// Replaces the pool's options. Applies at once: a smaller max_threads lets busy threads finish
// their jobs and exit; a new keep_alive applies from each idle thread's next wait.
// Errors: kInvalidArgument (nothing changed) if an option is out of range.
EXECUTOR_API absl::Status configure_blocking_pool(const BlockingPoolOptions& options);

struct BlockingPoolStats {
  unsigned threads = 0;       // threads alive (busy or idle)
  unsigned idle_threads = 0;  // threads waiting for a job
  std::size_t queued = 0;     // jobs waiting for a thread
};
// A consistent snapshot of the pool (taken under its lock).
EXECUTOR_API BlockingPoolStats blocking_pool_stats();

namespace detail {

// A job handed to the blocking pool: an intrusive node and the function that runs it.
struct BlockingJob {
  BlockingJob* next = nullptr;
  // Runs on a pool thread, exactly once per submission.
  void (*run)(BlockingJob*) noexcept = nullptr;
};

// Queues `job` and starts a thread if no idle one can take it. Throws std::system_error (and
// does not keep the job) if the pool has no thread and cannot start one.
EXECUTOR_API void submit_blocking(BlockingJob* job);
// Logs an exception thrown by a blocking job nobody will join.
EXECUTOR_API void report_unobserved_blocking_exception(const std::exception_ptr& e) noexcept;
// True on a thread that is currently running a task of some runtime (a worker).
inline bool on_runtime_worker() noexcept {
  return context().task != nullptr;
}

// The shared state of one spawn_blocking job.
//
// State word (bits): STARTED (the pool took the job), COMPLETE (result written), WAKER (a
// joiner's waker is stored in `waker`), CANCELLED (abort won before START), DETACHED (nobody
// will join). Transitions:
//   run:      0 -> STARTED (CAS; fails if CANCELLED); then |= COMPLETE after the result
//   abort:    0 -> CANCELLED|COMPLETE-after-result (CAS from "not STARTED")
//   join:     |= WAKER after storing the waker; if COMPLETE was set, take the waker back
//   withdraw: clear WAKER (CAS) while not COMPLETE
//   detach:   |= DETACHED; whoever sets the second of COMPLETE/DETACHED logs an exception
// The futex on `state` wakes threads blocked in wait(). Two references: job and handle.
template <class R>
class BlockingCell : public BlockingJob {
 public:
  static constexpr std::uint32_t kStarted = 1, kComplete = 2, kWaker = 4, kCancelled = 8,
                                 kDetached = 16;

  std::atomic<std::uint32_t> state{0};
  std::atomic<std::uint32_t> refs{2};
  Result<R> result;
  Waker waker;  // written before WAKER is set; read by the completer after it sees WAKER

  void release() noexcept {
    // acq_rel: the last holder sees every write of the other before deleting.
    if (refs.fetch_sub(1, std::memory_order_acq_rel) == 1) destroy_(this);
  }

  // Publishes the result (already written to `result`) and wakes the joiner.
  void complete() noexcept {
    // acq_rel: release publishes the result to the joiner's acquire; acquire makes the waker
    // (written before WAKER) visible here.
    std::uint32_t prev = state.fetch_or(kComplete, std::memory_order_acq_rel);
    if ((prev & kWaker) != 0) {
      Waker w = std::move(waker);
      w.wake();
    }
    if ((prev & kDetached) != 0) report_unobserved();
    state.notify_all();  // our reference keeps the cell alive across the notify
  }

  void report_unobserved() noexcept {
#if EXECUTOR_HAS_EXCEPTIONS
    if (const std::exception_ptr* e = result.exception()) {
      report_unobserved_blocking_exception(*e);
    }
#endif
  }

  // abort(): true if the job had not started and never will.
  bool abort() noexcept {
    std::uint32_t s = state.load(std::memory_order_relaxed);
    while ((s & (kStarted | kCancelled)) == 0) {
      // relaxed: this CAS only decides the race with run(); the result written below is
      // published by complete()'s release.
      if (state.compare_exchange_weak(s, s | kCancelled, std::memory_order_relaxed)) {
        result.set_cancelled();
        complete();
        return true;
      }
    }
    return false;
  }

 protected:
  explicit BlockingCell(void (*destroy)(BlockingCell*) noexcept) noexcept : destroy_(destroy) {}
  ~BlockingCell() = default;

 private:
  void (*destroy_)(BlockingCell*) noexcept;
};

template <class R, class F, class... Args>
class BlockingFnCell final : public BlockingCell<R> {
 public:
  using Base = BlockingCell<R>;
  template <class FF, class... AA>
  explicit BlockingFnCell(FF&& f, AA&&... args)
      : Base(&destroy), fn_(std::forward<FF>(f)), args_(std::forward<AA>(args)...) {
    this->run = &run_job;
  }

 private:
  static void destroy(Base* b) noexcept { delete static_cast<BlockingFnCell*>(b); }

  static void run_job(BlockingJob* j) noexcept {
    auto* self = static_cast<BlockingFnCell*>(j);
    std::uint32_t s = self->state.load(std::memory_order_relaxed);
    for (;;) {
      if ((s & Base::kCancelled) != 0) {  // abort() won: it completed the job
        self->release();
        return;
      }
      // acquire: pairs with the release of the pool's queue lock, so the callable and its
      // arguments written by the submitter are visible (kept explicit for clarity).
      if (self->state.compare_exchange_weak(s, s | Base::kStarted, std::memory_order_acquire,
                                            std::memory_order_relaxed)) {
        break;
      }
    }
    self->invoke();
    self->complete();
    self->release();
  }

  void invoke() noexcept {
#if EXECUTOR_HAS_EXCEPTIONS
    try {
#endif
      if constexpr (std::is_void_v<R>) {
        std::apply(fn_, std::move(args_));
        this->result.set_value();
      } else {
        this->result.set_value(std::apply(fn_, std::move(args_)));
      }
#if EXECUTOR_HAS_EXCEPTIONS
    } catch (...) {
      this->result.set_exception(std::current_exception());
    }
#endif
  }

  F fn_;
  std::tuple<Args...> args_;
};

}  // namespace detail

template <class R>
class [[nodiscard]] BlockingJoinHandle {
 public:
  using Cell = detail::BlockingCell<R>;

  BlockingJoinHandle() noexcept = default;
  explicit BlockingJoinHandle(Cell* cell) noexcept : cell_(cell) {}
  BlockingJoinHandle(BlockingJoinHandle&& o) noexcept : cell_(std::exchange(o.cell_, nullptr)) {}
  BlockingJoinHandle& operator=(BlockingJoinHandle&& o) noexcept {
    if (this != &o) {
      detach();
      cell_ = std::exchange(o.cell_, nullptr);
    }
    return *this;
  }
  BlockingJoinHandle(const BlockingJoinHandle&) = delete;
  BlockingJoinHandle& operator=(const BlockingJoinHandle&) = delete;
  ~BlockingJoinHandle() { detach(); }

  bool valid() const noexcept { return cell_ != nullptr; }
  // Acquire: if true, the job's writes are visible.
  bool is_finished() const noexcept {
    return cell_ != nullptr && (cell_->state.load(std::memory_order_acquire) & Cell::kComplete);
  }
  // Prevents the job from running if it has not started; returns true if it did. A started or
  // finished job is unaffected (returns false). The handle stays valid: join() then yields the
  // result, or throws executor::TaskCancelled if abort() returned true.
  bool abort() noexcept { return cell_ != nullptr && cell_->abort(); }

  // Lets the job run unobserved; the handle becomes empty.
  void detach() noexcept {
    Cell* c = std::exchange(cell_, nullptr);
    if (c == nullptr) return;
    // acq_rel: if COMPLETE is seen, the result (a stored exception) is visible.
    if ((c->state.fetch_or(Cell::kDetached, std::memory_order_acq_rel) & Cell::kComplete) != 0) {
      c->report_unobserved();
    }
    c->release();
  }

  // Blocks the calling thread until the job finishes; returns its value or rethrows its
  // exception. Not on a runtime worker (std::logic_error): co_await the handle there.
  R wait() {
    if (cell_ == nullptr) throw_empty();
    if (detail::on_runtime_worker()) {
      throw std::logic_error(
          "executor::BlockingJoinHandle::wait called on a runtime worker (it would block the "
          "worker); co_await the handle instead");
    }
    Cell* c = std::exchange(cell_, nullptr);
    struct Release {
      Cell* c;
      ~Release() { c->release(); }
    } release{c};
    for (;;) {
      // acquire: pairs with the acq_rel in complete(): the result is visible.
      std::uint32_t s = c->state.load(std::memory_order_acquire);
      if ((s & Cell::kComplete) != 0) break;
      c->state.wait(s, std::memory_order_acquire);
    }
    return c->result.take();
  }

  class JoinAwaiter {
   public:
    explicit JoinAwaiter(Cell* cell) noexcept : cell_(cell) {}
    JoinAwaiter(JoinAwaiter&& o) noexcept
        : cell_(std::exchange(o.cell_, nullptr)), registered_(o.registered_) {}
    JoinAwaiter(const JoinAwaiter&) = delete;
    JoinAwaiter& operator=(const JoinAwaiter&) = delete;
    ~JoinAwaiter() {
      if (cell_ == nullptr) return;
      if (registered_) withdraw();
      BlockingJoinHandle(std::exchange(cell_, nullptr)).detach();
    }

    bool await_ready() const noexcept {
      return cell_ == nullptr ||
             (cell_->state.load(std::memory_order_acquire) & Cell::kComplete) != 0;
    }
    bool await_suspend(std::coroutine_handle<> h) noexcept {
      cell_->waker = detail::Waker::current(h);
      // acq_rel: release publishes the waker to complete() (acquire there); acquire makes the
      // result visible if the job completed first.
      if ((cell_->state.fetch_or(Cell::kWaker, std::memory_order_acq_rel) & Cell::kComplete) != 0) {
        cell_->waker.drop();  // complete() did not see our waker: take it back
        return false;
      }
      registered_ = true;
      return true;
    }
    R await_resume() {
      if (cell_ == nullptr) throw_empty();
      registered_ = false;
      Cell* c = std::exchange(cell_, nullptr);
      struct Release {
        Cell* c;
        ~Release() { c->release(); }
      } release{c};
      return c->result.take();
    }

   private:
    // The awaiting frame is being destroyed while suspended: take the waker back unless
    // complete() already took it.
    void withdraw() noexcept {
      std::uint32_t s = cell_->state.load(std::memory_order_acquire);
      while ((s & Cell::kComplete) == 0) {
        if (cell_->state.compare_exchange_weak(s, s & ~Cell::kWaker, std::memory_order_acq_rel,
                                               std::memory_order_acquire)) {
          cell_->waker.drop();
          return;
        }
      }
    }
    Cell* cell_;
    bool registered_ = false;
  };

  // Waits (inside a task) for the job and yields its result. The handle is empty afterwards.
  JoinAwaiter join() noexcept { return JoinAwaiter(std::exchange(cell_, nullptr)); }
  JoinAwaiter operator co_await() && noexcept { return join(); }

 private:
  [[noreturn]] static void throw_empty() {
    throw std::logic_error("executor: join() on an empty BlockingJoinHandle");
  }
  Cell* cell_ = nullptr;
};

template <class F, class... Args>
auto spawn_blocking(F&& f, Args&&... args)
    -> BlockingJoinHandle<std::invoke_result_t<std::decay_t<F>&, std::decay_t<Args>&&...>> {
  using R = std::invoke_result_t<std::decay_t<F>&, std::decay_t<Args>&&...>;
  using CellT = detail::BlockingFnCell<R, std::decay_t<F>, std::decay_t<Args>...>;
  auto* cell = new CellT(std::forward<F>(f), std::forward<Args>(args)...);
  try {
    detail::submit_blocking(cell);
  } catch (...) {
    cell->refs.store(1, std::memory_order_relaxed);
    cell->release();
    throw;
  }
  return BlockingJoinHandle<R>(cell);
}

}  // namespace executor
