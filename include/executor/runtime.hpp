// executor::Runtime: the Linux executor (a pool of worker threads plus one io_uring completion
// thread that also drives timers). See docs/architecture.md.
//
// Thread safety: all member functions may be called from any thread, except that block_on must
// not be called from one of this runtime's workers (it would block a worker; it throws).
// Lifetime: the most recently constructed live Runtime is the process default used by
// `executor::spawn` outside of tasks. Destroying a Runtime stops its threads (each worker
// finishes the slice it is running), then destroys the frames of tasks that have not finished,
// which cancels them; their awaiters unlink themselves, and joiners see executor::TaskCancelled.
// I/O backend: io_uring; when it cannot be set up (seccomp, kernel.io_uring_disabled, ENOSYS,
// memlock limits) the runtime logs one line and uses its epoll fallback (docs/io.md).
// EXECUTOR_BACKEND=epoll forces the fallback, EXECUTOR_BACKEND=io_uring forbids it.
// Errors: the constructor throws std::system_error with a message naming the cause and the fix
// when io_uring is required but cannot be set up, std::invalid_argument for bad options;
// `Runtime::create` reports the same as an absl::Status.
//
// Example:
//   executor::Runtime rt({.workers = 2});
//   int v = rt.block_on(compute());
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <utility>

#include <absl/status/statusor.h>

#include <executor/detail/result.hpp>
#include <executor/export.hpp>
#include <executor/join_handle.hpp>
#include <executor/spawn.hpp>
#include <executor/task.hpp>

namespace executor {

namespace detail {
class RuntimeImpl;
}

// The CPUs this process may use: those in the calling thread's affinity mask (taskset, cpuset
// cgroups), capped by the tightest CFS bandwidth quota of its cgroups, rounded up (cgroup v2
// `cpu.max`, v1 `cpu.cfs_quota_us`; docker --cpus, Kubernetes CPU limits); at least 1. The
// default worker count. Reads /proc and /sys on every call.
EXECUTOR_API unsigned available_parallelism() noexcept;

// Environment, read when a Runtime is constructed (docs/getting-started.md#environment):
// EXECUTOR_BACKEND (io_uring|epoll|auto), EXECUTOR_WORKER_RINGS=0, EXECUTOR_SPREAD
// (auto|eager|packed: when a worker wakes a parked one for the work it queues; see
// docs/architecture.md#spreading); an invalid value makes the constructor throw
// std::invalid_argument (create(): kInvalidArgument).
struct RuntimeOptions {
  // Worker threads; 0 means EXECUTOR_WORKERS if set to 1..1024 (any other value is ignored with
  // one line on stderr), else available_parallelism().
  unsigned workers = 0;
  // io_uring submission-queue entries (the completion queue is 4x this, at least 16).
  unsigned ring_entries = 256;
};

class EXECUTOR_API Runtime {
 public:
  explicit Runtime(RuntimeOptions options = {});
  ~Runtime();
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  // Like the constructor, but reports failure as a Status (kFailedPrecondition when io_uring is
  // unavailable, with the same message).
  static absl::StatusOr<std::unique_ptr<Runtime>> create(RuntimeOptions options = {});

  // Runs `task` on the pool and blocks the calling thread until it finishes; returns its value
  // or rethrows its exception.
  template <class T>
  T block_on(Task<T> task);

  // Spawns onto this runtime (from any thread).
  template <class T>
  JoinHandle<T> spawn(Task<T> task) {
    return detail::spawn_on(scheduler(), std::move(task));
  }

  unsigned workers() const noexcept;
  // Tasks spawned and not yet finished.
  std::size_t live_tasks() const noexcept;

  // Stops all threads without destroying unfinished tasks; they stay allocated (never cancelled)
  // until the process exits. Used by EXECUTOR_MAIN after its grace period.
  void abandon() noexcept;

  detail::Scheduler* scheduler() noexcept;
  detail::RuntimeImpl& impl() noexcept { return *impl_; }

 private:
  void check_not_worker() const;
  std::unique_ptr<detail::RuntimeImpl> impl_;
};

namespace detail {
template <class T>
struct BlockOnState {
  Result<T> result;
  std::atomic<std::uint32_t> done{0};
};

template <class T>
Task<void> block_on_root(Task<T> task, std::shared_ptr<BlockOnState<T>> st) {
#if EXECUTOR_HAS_EXCEPTIONS
  try {
#endif
    if constexpr (std::is_void_v<T>) {
      co_await std::move(task);
      st->result.set_value();
    } else {
      st->result.set_value(co_await std::move(task));
    }
#if EXECUTOR_HAS_EXCEPTIONS
  } catch (...) {
    st->result.set_exception(std::current_exception());
  }
#endif
  // release: the blocked thread's acquire sees the result.
  st->done.store(1, std::memory_order_release);
  st->done.notify_one();
}
}  // namespace detail

template <class T>
T Runtime::block_on(Task<T> task) {
  check_not_worker();
  auto st = std::make_shared<detail::BlockOnState<T>>();
  spawn(detail::block_on_root(std::move(task), st)).detach();
  while (st->done.load(std::memory_order_acquire) == 0) {
    st->done.wait(0, std::memory_order_acquire);
  }
  return st->result.take();
}

}  // namespace executor
