// executor::cortexm::Executor: the heapless, single-core executor of the Cortex-M port.
//
// Design
// ------
// One executor per image (`executor()`), in static storage. It implements the core's
// `detail::Scheduler`: a FIFO ready queue of TaskHeader* linked through `queue_next` (no heap,
// no bound), and a registry of live tasks linked through `reg_prev/reg_next` so `shutdown()` can
// cancel them. Frames and task cells come from fixed pools (frame_pool.hpp).
//
// Interrupt discipline. Tasks run with interrupts masked (PRIMASK=1): a task is never pre-empted
// by a handler, so task code may touch state it shares with handlers without further locking as
// long as it does not suspend in between. The loop opens an interrupt window between two task
// runs (`cpsie i; isb; cpsid i`): pending handlers run there, and whatever they wake is queued.
// When nothing is ready the loop executes WFI *with PRIMASK still set*: an interrupt that became
// pending after the check (or before it) still ends the WFI, so no wake-up is lost between the
// check and the sleep; its handler then runs in the next window.
//
//   thread mode:  [mask] pop -> run_task -> [window: handlers run] -> pop -> ... -> WFI -> window
//   handler:      waker list / timer queue -> Waker::wake -> schedule() (critical section) -> queue
//
// A handler never resumes a coroutine: it only marks tasks NOTIFIED and queues them (see
// detail/task_header.hpp); the loop resumes each once per wake.
//
// States of a task as seen here: queued (in the ready queue, NOTIFIED) -> running (run_task) ->
// waiting (linked on a waker list or the timer queue, or nowhere if it awaits another task) ->
// queued again by a wake, or complete (detach unlinks it from the registry).
//
// Fields: head_/tail_/ready_ (ready queue) — thread mode and handlers, always under a critical
// section; registry_/live_ — attach/detach, under a critical section (spawn is legal in a handler).
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>

#include <executor/detail/task_cell.hpp>
#include <executor/detail/task_header.hpp>
#include <executor/join_handle.hpp>
#include <executor/spawn.hpp>
#include <executor/task.hpp>

namespace executor::cortexm {

class Executor final : public detail::Scheduler {
 public:
  constexpr Executor() noexcept = default;
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  // detail::Scheduler. Thread mode or handler.
  void schedule(detail::TaskHeader* t) noexcept override;
  void attach(detail::TaskHeader* t) noexcept override;
  void detach(detail::TaskHeader* t) noexcept override;

  // Runs ready tasks until none is ready, taking pending interrupts before each run (so work
  // they wake runs too). Returns the number of task runs. Thread mode only, interrupts enabled,
  // not from inside a task (each is a clear fatal error).
  std::size_t run_ready() noexcept;

  // Runs tasks, sleeping in WFI when none is ready, until `h` has finished. The SysTick tick is
  // started first if nothing started it (start_tick in clock.hpp). Same preconditions as
  // run_ready. Tasks that are still ready when `h` finishes stay queued for the next call.
  template <class T>
  void run_until(const JoinHandle<T>& h) noexcept {
    run_until_impl(
        [](const void* p) { return static_cast<const JoinHandle<T>*>(p)->is_finished(); }, &h);
  }

  // Spawns `task`, runs until it finishes and returns its result. A root task that cannot get
  // a frame is a fatal error (the pools are too small for the program's entry point).
  // Without exceptions a cancelled root (shutdown() from a handler) traps.
  template <class T>
  T block_on(Task<T> task) noexcept;

  // Runs tasks forever (an application's main loop).
  [[noreturn]] void run() noexcept;

  // Cancels every unfinished task (destroying its frame runs its awaiters' destructors, which
  // unlink them from waker lists and the timer queue) and empties the ready queue. Joiners
  // see their task cancelled. Thread mode, outside of tasks; for tests and orderly shutdown.
  void shutdown() noexcept;

  // Tasks spawned and not yet complete, and tasks currently in the ready queue.
  std::size_t live_tasks() const noexcept { return live_; }
  std::size_t ready_tasks() const noexcept { return ready_; }

 private:
  void run_until_impl(bool (*done)(const void*), const void* arg) noexcept;
  detail::TaskHeader* pop() noexcept;

  detail::TaskHeader* head_ = nullptr;
  detail::TaskHeader* tail_ = nullptr;
  std::size_t ready_ = 0;
  detail::TaskHeader* registry_ = nullptr;
  std::size_t live_ = 0;
};

// The image's executor.
Executor& executor() noexcept;

// Why try_spawn failed.
enum class SpawnError : std::uint8_t {
  kNone = 0,
  // No frame-pool block was free for the task's coroutine frame or its task cell (see
  // frame_pool_table().largest_failed_request() for the size that did not fit).
  kOutOfFrames,
};

const char* to_string(SpawnError e) noexcept;

template <class T>
struct [[nodiscard]] SpawnResult {
  JoinHandle<T> handle;  // valid iff error == kNone
  SpawnError error = SpawnError::kNone;
  explicit operator bool() const noexcept { return error == SpawnError::kNone; }
};

// try_spawn(task) / try_spawn(f, args...): the non-throwing spawn of the Cortex-M port.
//
// Starts the task on executor() (it first runs from the executor loop, never inline) and returns
// its JoinHandle. The callable form moves `f` and the arguments into the task's frame, like
// executor::spawn. Dropping the handle detaches the task; it still runs to completion.
// Errors: SpawnError::kOutOfFrames if the frame pools have no block for the coroutine frame or
// the task cell; nothing is leaked (the arguments and any frame already allocated are freed).
// Thread safety: thread mode or an interrupt handler (everything shared is critical-sectioned).
template <class T>
SpawnResult<T> try_spawn(Task<T> task) noexcept {
  if (!task.valid()) return {JoinHandle<T>(), SpawnError::kOutOfFrames};
  auto* cell = new detail::TaskCell<T>(task.handle());  // class operator new: pools, nullptr
  if (cell == nullptr) return {JoinHandle<T>(), SpawnError::kOutOfFrames};  // ~task frees
  (void)task.release();
  JoinHandle<T> handle = detail::make_join_handle(cell);
  detail::spawn_task(cell, &executor());
  return {std::move(handle), SpawnError::kNone};
}

template <class F, class... Args>
requires(!detail::is_task_v<std::decay_t<F>>) auto try_spawn(F&& f, Args&&... args) noexcept {
  using Ret = std::invoke_result_t<std::decay_t<F>&, std::decay_t<Args>&&...>;
  static_assert(detail::is_task_v<Ret>,
                "executor::cortexm::try_spawn(f, args...): f(args...) must return a Task<T>");
  return try_spawn(detail::invoke_task(std::decay_t<F>(std::forward<F>(f)),
                                       std::decay_t<Args>(std::forward<Args>(args))...));
}

template <class T>
T Executor::block_on(Task<T> task) noexcept {
  SpawnResult<T> r = try_spawn(std::move(task));
  if (!r) detail::fatal("executor::cortexm::block_on: no frame-pool block for the root task");
  run_until(r.handle);
  // The task is complete, so the join awaiter is ready: take the result without suspending.
  auto join = std::move(r.handle).join();
  return join.await_resume();
}

}  // namespace executor::cortexm
