// The task header: the unit of scheduling shared by every runtime (Linux pool, Cortex-M).
//
// Design
// ------
// A *task* is what `spawn` creates: a root coroutine (the user's `Task<T>`) plus a heap or pool
// cell holding this header and the task's result. Nested `co_await`s of `Task<U>` run inside
// the same task by symmetric transfer; a task has exactly one suspension point at a time.
//
// Awaiters never resume coroutine handles themselves. At suspension an awaiter captures a
// `Waker` (`Waker::current(h)`), which records `h` as the task's resume point and takes a
// reference on the task. `Waker::wake()` marks the task NOTIFIED and hands it to the task's
// scheduler; a worker later calls `run_task`, which resumes the resume point. Consequences:
//  * a wake is an atomic transition plus an intrusive queue push: no allocation, no resumption
//    on the waker's stack;
//  * every run starts a new *epoch*; a waker carries the epoch it was captured in and a wake
//    from an earlier epoch is ignored. Several wakers may race for one suspension (a timer and a
//    channel in `timeout`); the first one wins and the rest are harmless;
//  * cancellation (`abort_task`) only sets a flag and schedules the task; the worker that runs it
//    destroys the root frame instead of resuming it, so a frame is never destroyed while another
//    thread is about to resume it. Awaiter destructors unlink themselves and drop their wakers.
//
// State word (one atomic, so every transition is a single CAS):
//
//   bits  0..7   flags: RUNNING NOTIFIED COMPLETE CANCELLED JOIN_INTEREST JOIN_WAKER
//   bits  8..31  epoch (Linux, 24 bits) | bits 8..15 (single-threaded ports, 8 bits)
//   bits 32..63  reference count (Linux) | bits 16..31 (single-threaded ports)
//
// References: one "alive" reference held by the scheduler's registry until completion, one held
// by a queue while NOTIFIED or by the worker while RUNNING, one held by the JoinHandle, one per
// outstanding Waker. The cell is freed when the count reaches zero.
//
// Transitions (function that performs each):
//
//   spawn_task:       new -> NOTIFIED|JOIN_INTEREST (refs 3: alive, queue, join)
//   Waker::wake:      idle -> NOTIFIED (schedules) | RUNNING -> RUNNING|NOTIFIED | else no-op
//   run_task:         NOTIFIED -> RUNNING, epoch+1; then RUNNING -> idle, or -> NOTIFIED again
//                     (re-queued), or -> COMPLETE (root finished or CANCELLED)
//   abort_task:       any -> CANCELLED (and NOTIFIED if idle, so a worker performs the cancel)
//   detach_join:      clears JOIN_INTEREST; logs an unobserved exception if already COMPLETE
//
// Thread safety: every function here may be called from any thread, except those documented
// as "worker only" which require the caller to own the task's run (RUNNING).
#pragma once

#include <atomic>
#include <coroutine>
#include <cstdint>
#include <type_traits>
#include <utility>

#include <executor/detail/config.hpp>
#include <executor/export.hpp>

namespace executor::detail {

struct TaskHeader;

// The seam through which a runtime plugs into the core.
class Scheduler {
 public:
  // Enqueue a task whose state is NOTIFIED. The caller transfers one reference to the queue.
  virtual void schedule(TaskHeader* task) noexcept = 0;
  // A task was spawned (before its first schedule). May throw to refuse it.
  virtual void attach(TaskHeader* task) = 0;
  // The task reached COMPLETE. Called exactly once per attached task.
  virtual void detach(TaskHeader* task) noexcept = 0;
  // The task went idle for the first time without completing (called once, by the worker that
  // ran it, before the task can be woken). A runtime that must find suspended tasks at teardown
  // registers them here; tasks that finish in their first run never pay for it.
  virtual void register_suspended(TaskHeader*) noexcept {}

 protected:
  ~Scheduler() = default;
};

// Per-result-type operations of a task cell.
struct TaskVTable {
  bool (*root_done)(TaskHeader*) noexcept;  // worker only: did the root coroutine finish?
  void (*finish)(TaskHeader*) noexcept;     // worker only: move the result out, free the frame
  void (*cancel)(TaskHeader*) noexcept;     // destroy the root frame unfinished; result=cancelled
  void (*dealloc)(TaskHeader*) noexcept;    // free the cell (last reference gone)
  void (*report_unobserved)(TaskHeader*) noexcept;  // nobody will join: log a stored exception
};

namespace state {
#if defined(EXECUTOR_SINGLE_THREADED)
using Word = std::uint32_t;
inline constexpr unsigned kEpochBits = 8;
inline constexpr unsigned kRefShift = 16;
#else
using Word = std::uint64_t;
inline constexpr unsigned kEpochBits = 24;
inline constexpr unsigned kRefShift = 32;
#endif
inline constexpr Word kRunning = 1u << 0;
inline constexpr Word kNotified = 1u << 1;
inline constexpr Word kComplete = 1u << 2;
inline constexpr Word kCancelled = 1u << 3;
inline constexpr Word kJoinInterest = 1u << 4;
inline constexpr Word kJoinWaker = 1u << 5;
inline constexpr unsigned kEpochShift = 8;
inline constexpr Word kEpochOne = Word{1} << kEpochShift;
inline constexpr Word kEpochMask = ((Word{1} << kEpochBits) - 1) << kEpochShift;
inline constexpr Word kRefOne = Word{1} << kRefShift;
constexpr std::uint32_t epoch(Word s) noexcept {
  return static_cast<std::uint32_t>((s & kEpochMask) >> kEpochShift);
}
constexpr Word refs(Word s) noexcept {
  return s >> kRefShift;
}
}  // namespace state

// What the current thread is running. One per worker thread (a single instance on
// single-threaded ports).
struct TaskContext {
  TaskHeader* task = nullptr;  // the task being run by this thread, if any
  unsigned depth = 0;          // inline symmetric transfers since the run started
};
EXECUTOR_API TaskContext& context() noexcept;

[[noreturn]] EXECUTOR_API void fatal(const char* message) noexcept;

// A one-shot, move-only capability to make a suspended task runnable again.
//
// Thread safety: a Waker may be moved to and woken from any thread (including interrupt handlers
// on single-core ports). Memory ordering: everything the waking thread wrote before `wake()` is
// visible to the task when it resumes (release in wake, acquire in run_task).
class Waker {
 public:
  Waker() noexcept = default;
  Waker(Waker&& other) noexcept
      : task_(std::exchange(other.task_, nullptr)), epoch_(other.epoch_) {}
  Waker& operator=(Waker&& other) noexcept {
    if (this != &other) {
      drop();
      task_ = std::exchange(other.task_, nullptr);
      epoch_ = other.epoch_;
    }
    return *this;
  }
  Waker(const Waker&) = delete;
  Waker& operator=(const Waker&) = delete;
  ~Waker() { drop(); }

  // Captures a waker for the running task, which is about to suspend at `h`. Call it from
  // `await_suspend` only, and publish the waker last. An awaiter whose `await_suspend` then
  // decides not to suspend must withdraw and drop every waker it published.
  static Waker current(std::coroutine_handle<> h) noexcept;

  // A second waker for the same suspension (first wake wins; the others are ignored).
  Waker clone() const noexcept;

  // Makes the task runnable (if this waker is still current) and consumes the waker.
  void wake() noexcept;
  // Releases the waker without waking.
  void drop() noexcept;

  bool valid() const noexcept { return task_ != nullptr; }
  TaskHeader* task() const noexcept { return task_; }

 private:
  Waker(TaskHeader* t, std::uint32_t e) noexcept : task_(t), epoch_(e) {}
  TaskHeader* task_ = nullptr;
  std::uint32_t epoch_ = 0;
};

struct TaskHeader {
  explicit TaskHeader(const TaskVTable* vt) noexcept : vtable(vt) {}
  TaskHeader(const TaskHeader&) = delete;
  TaskHeader& operator=(const TaskHeader&) = delete;

  // --- any thread, atomically ---
  std::atomic<state::Word> state{0};
  // --- immutable after spawn_task ---
  const TaskVTable* vtable;
  Scheduler* scheduler = nullptr;
  std::uint64_t id = 0;
  // --- the thread that runs the task (ordered by the state transitions) ---
  std::coroutine_handle<> resume_point;
  bool registered = false;  // register_suspended() was called
  // --- owned by whichever run queue holds the task ---
  TaskHeader* queue_next = nullptr;
  // --- owned by the scheduler's registry (under its lock) ---
  TaskHeader* reg_prev = nullptr;
  TaskHeader* reg_next = nullptr;
  // --- written by the join awaiter before it sets JOIN_WAKER; taken by the completer after it
  //     observes JOIN_WAKER (acquire) ---
  Waker join_waker;
};

inline void ref_inc(TaskHeader* t) noexcept {
  // relaxed: a new reference is derived from one the caller already holds (as in shared_ptr).
  t->state.fetch_add(state::kRefOne, std::memory_order_relaxed);
}

inline void ref_dec(TaskHeader* t, state::Word n = 1) noexcept {
  // acq_rel: the release publishes this holder's writes; the acquire in the last holder makes
  // all of them visible before the cell is freed.
  state::Word prev = t->state.fetch_sub(n * state::kRefOne, std::memory_order_acq_rel);
  if (state::refs(prev) == n) t->vtable->dealloc(t);
}

// Worker only: request that the running task be queued again after this run (yield, bounce).
inline void notify_self(TaskHeader* t) noexcept {
  // relaxed: the running thread itself performs the idle transition (acq_rel) that reads it.
  t->state.fetch_or(state::kNotified, std::memory_order_relaxed);
}

inline Waker Waker::current(std::coroutine_handle<> h) noexcept {
  TaskHeader* t = context().task;
  if (t == nullptr) fatal("executor: an awaiter suspended outside of a task (no runtime?)");
  t->resume_point = h;
  ref_inc(t);
  // relaxed: the epoch only changes in run_task, on this thread, before this run started.
  return Waker(t, state::epoch(t->state.load(std::memory_order_relaxed)));
}

inline Waker Waker::clone() const noexcept {
  if (task_ == nullptr) return Waker();
  ref_inc(task_);
  return Waker(task_, epoch_);
}

inline void Waker::drop() noexcept {
  if (TaskHeader* t = std::exchange(task_, nullptr)) ref_dec(t);
}

inline void Waker::wake() noexcept {
  using namespace state;
  TaskHeader* t = std::exchange(task_, nullptr);
  if (t == nullptr) return;
  Word s = t->state.load(std::memory_order_relaxed);
  for (;;) {
    Word next;
    bool schedule = false;
    if (epoch(s) != epoch_ || (s & (kComplete | kNotified)) != 0) {
      next = s - kRefOne;  // stale or already pending: just release our reference
    } else if ((s & kRunning) != 0) {
      next = (s | kNotified) - kRefOne;  // the runner re-queues it when this run ends
    } else {
      next = s | kNotified;  // our reference becomes the queue's
      schedule = true;
    }
    // acq_rel: release publishes what the waker's thread wrote (pairs with the acquire in
    // run_task); acquire orders a possible dealloc after every other holder's release.
    if (t->state.compare_exchange_weak(s, next, std::memory_order_acq_rel,
                                       std::memory_order_relaxed)) {
      if (schedule) {
        t->scheduler->schedule(t);
      } else if (refs(next) == 0) {
        t->vtable->dealloc(t);
      }
      return;
    }
  }
}

// Symmetric transfer with a bounded inline depth (see EXECUTOR_MAX_INLINE_TRANSFERS). Past the
// bound the running task re-queues itself at `next` and the stack unwinds to the worker loop.
inline std::coroutine_handle<> transfer_to(std::coroutine_handle<> next) noexcept {
  TaskContext& c = context();
  if (++c.depth < EXECUTOR_MAX_INLINE_TRANSFERS || c.task == nullptr) return next;
  c.depth = 0;
  c.task->resume_point = next;
  notify_self(c.task);
  return std::noop_coroutine();
}

// --- Task lifecycle (src/task_harness.cpp; portable) ---------------------------------------

// Initialises `t` (refs, id) and hands it to `sched`: attach, then schedule.
EXECUTOR_API void spawn_task(TaskHeader* t, Scheduler* sched);
// Worker only: runs one slice of a NOTIFIED task whose queue reference the caller holds.
EXECUTOR_API void run_task(TaskHeader* t) noexcept;
// Requests cancellation: the root frame is destroyed by the next worker run (never while
// running). A task that already completed is unaffected.
EXECUTOR_API void abort_task(TaskHeader* t) noexcept;
// The JoinHandle's reference is given up without joining.
EXECUTOR_API void detach_join(TaskHeader* t) noexcept;
// Runtime teardown only (no worker runs any more): cancel `t` if unfinished and complete it.
EXECUTOR_API void teardown_task(TaskHeader* t) noexcept;
// Runtime teardown only: drop the reference a queue held for `t` (clears NOTIFIED).
EXECUTOR_API void release_queued(TaskHeader* t) noexcept;
// The scheduler to use for a spawn from this thread: the running task's, else the process
// default (set by the runtime), else nullptr.
EXECUTOR_API Scheduler* current_scheduler() noexcept;
EXECUTOR_API void set_default_scheduler(Scheduler* s) noexcept;
EXECUTOR_API Scheduler* default_scheduler() noexcept;

}  // namespace executor::detail
