// The task state machine's transitions that run on workers (see detail/task_header.hpp).
// Portable: no OS calls, no heap; compiled into the Linux library and the Cortex-M core.
#include <atomic>
#include <cstdint>

#include <executor/detail/task_header.hpp>

namespace executor::detail {

namespace {
EXECUTOR_THREAD_LOCAL TaskContext tl_context;
std::atomic<Scheduler*> g_default_scheduler{nullptr};
// relaxed: ids only need to be unique.
#if defined(EXECUTOR_SINGLE_THREADED)
// Single-core ports: ARMv7-M has no 64-bit atomic read-modify-write (it would be a libatomic
// call that a freestanding image cannot link), so ids are counted in 32 bits there.
std::atomic<std::uint32_t> g_next_task_id{1};
#else
std::atomic<std::uint64_t> g_next_task_id{1};
#endif
}  // namespace

TaskContext& context() noexcept {
  return tl_context;
}

Scheduler* current_scheduler() noexcept {
  if (TaskHeader* t = tl_context.task) return t->scheduler;
  // acquire: pairs with the release in set_default_scheduler so the runtime is fully built.
  return g_default_scheduler.load(std::memory_order_acquire);
}
void set_default_scheduler(Scheduler* s) noexcept {
  g_default_scheduler.store(s, std::memory_order_release);
}
Scheduler* default_scheduler() noexcept {
  return g_default_scheduler.load(std::memory_order_acquire);
}

void spawn_task(TaskHeader* t, Scheduler* sched) {
  using namespace state;
  t->scheduler = sched;
  t->id = g_next_task_id.fetch_add(1, std::memory_order_relaxed);
  // References: the registry ("alive"), the queue, the JoinHandle. relaxed: the task is
  // published by attach/schedule, which synchronise.
  t->state.store(kNotified | kJoinInterest | 3 * kRefOne, std::memory_order_relaxed);
  sched->attach(t);
  sched->schedule(t);
}

namespace {

// Finishes a task whose run the caller owns (RUNNING, holding the queue reference), or whose
// teardown the caller performs. `refs_held` is what the caller gives up besides "alive".
void complete(TaskHeader* t, state::Word refs_held) noexcept {
  using namespace state;
  Word s = t->state.load(std::memory_order_relaxed);
  Word next;
  do {
    next = (s & ~(kRunning | kNotified)) | kComplete;
    // acq_rel: release publishes the result to the joiner (acquire in JoinAwaiter); acquire
    // makes the join waker written before JOIN_WAKER visible here.
  } while (!t->state.compare_exchange_weak(s, next, std::memory_order_acq_rel,
                                           std::memory_order_relaxed));
  if ((s & kJoinWaker) != 0) {
    Waker w = static_cast<Waker&&>(t->join_waker);
    w.wake();
  }
  if ((s & kJoinInterest) == 0) t->vtable->report_unobserved(t);
  t->scheduler->detach(t);
  ref_dec(t, refs_held + 1);
}

void cancel_and_complete(TaskHeader* t) noexcept {
  t->vtable->cancel(t);
  complete(t, 1);
}

}  // namespace

void run_task(TaskHeader* t) noexcept {
  using namespace state;
  Word s = t->state.load(std::memory_order_relaxed);
  Word next;
  do {
    next = (s & ~(kNotified | kEpochMask)) | kRunning | ((s + kEpochOne) & kEpochMask);
    // acquire: pairs with the release of the waker / spawner so the frame's state is visible.
  } while (!t->state.compare_exchange_weak(s, next, std::memory_order_acquire,
                                           std::memory_order_relaxed));
  if ((next & kCancelled) != 0) {
    cancel_and_complete(t);
    return;
  }

  TaskContext& ctx = tl_context;
  ctx.task = t;
  ctx.depth = 0;
  t->resume_point.resume();
  ctx.task = nullptr;

  if (t->vtable->root_done(t)) {
    t->vtable->finish(t);
    complete(t, 1);
    return;
  }

  if (!t->registered) {
    t->registered = true;
    t->scheduler->register_suspended(t);
  }
  s = t->state.load(std::memory_order_relaxed);
  for (;;) {
    if ((s & kCancelled) != 0) {  // abort arrived during the run
      cancel_and_complete(t);
      return;
    }
    bool requeue = (s & kNotified) != 0;
    // Re-queued: the queue keeps our reference. Idle: the reference is released.
    next = requeue ? (s & ~kRunning) : ((s & ~kRunning) - kRefOne);
    // release: the next runner (through a waker's acquire) sees this run's writes.
    if (t->state.compare_exchange_weak(s, next, std::memory_order_acq_rel,
                                       std::memory_order_relaxed)) {
      if (requeue) t->scheduler->schedule(t);
      return;
    }
  }
}

void abort_task(TaskHeader* t) noexcept {
  using namespace state;
  Word s = t->state.load(std::memory_order_relaxed);
  for (;;) {
    if ((s & (kComplete | kCancelled)) != 0) return;
    Word next = s | kCancelled;
    bool schedule = (s & (kRunning | kNotified)) == 0;
    if (schedule) next = (next | kNotified) + kRefOne;  // a queue reference for the cancel run
    if (t->state.compare_exchange_weak(s, next, std::memory_order_acq_rel,
                                       std::memory_order_relaxed)) {
      if (schedule) t->scheduler->schedule(t);
      return;
    }
  }
}

void detach_join(TaskHeader* t) noexcept {
  using namespace state;
  // acq_rel: if COMPLETE is seen, the result (and a stored exception) is visible.
  Word prev = t->state.fetch_and(~kJoinInterest, std::memory_order_acq_rel);
  if ((prev & kComplete) != 0) t->vtable->report_unobserved(t);
  ref_dec(t);
}

void teardown_task(TaskHeader* t) noexcept {
  using namespace state;
  if ((t->state.load(std::memory_order_acquire) & kComplete) != 0) return;
  ref_inc(t);  // the reference complete() gives up on behalf of a run
  cancel_and_complete(t);
}

void release_queued(TaskHeader* t) noexcept {
  t->state.fetch_and(~state::kNotified, std::memory_order_acq_rel);
  ref_dec(t);
}

}  // namespace executor::detail
