// The completion thread: one thread per runtime that owns the I/O backend (io_uring, or the
// epoll fallback), hands it the operations submitted outside the worker rings, dispatches their
// completions, reaps the worker rings of parked (or long-busy) workers, and fires timers.
//
// Worker rings (worker_ring.hpp): with io_uring, an op started on a worker goes to that
// worker's own ring (route(), then submit() queues it there); the worker loop flushes it
// (worker_flush) and hands the ring to this thread while it sleeps (worker_prepare_park /
// worker_resume). Everything below about stacks and wake-ups concerns the other ops.
//
// Design
// ------
// Workers never touch the backend. `submit()` pushes the op onto a lock-free MPSC stack (Treiber
// push; the completion thread takes the whole stack with one exchange) and wakes the completion
// thread only if it is asleep: while it is awake a submission costs one CAS and no syscall, and
// the thread batches everything it took into one io_uring_enter. Because only this thread
// enters the ring, io_uring runs with SINGLE_ISSUER (+DEFER_TASKRUN). Cancel requests use a
// second stack (IoOp::cancel_next) so that an op can be cancelled while it still sits in the
// submission stack. (The alternative, workers submitting under a lock, was measured slower: see
// docs/architecture.md.) A worker does not even wake the thread per op: it owes the wake-up and
// pays it after its pass over ready tasks (pay_owed_wake), and the thread, after a busy pass,
// looks at its stacks for kSpin before it sleeps.
//
// Timers are a hierarchical timing wheel (TimerWheel: O(1) insert and cancel, 65.5 us ticks)
// under timer_mu_; the backend's wait is bounded by the end of the earliest occupied tick, and
// each wake-up fires every timer whose tick has ended. Before sleeping the thread records that
// bound in wait_deadline_; add_timer() wakes it only for a timer due before it. Busy workers
// also fire due timers (fire_due_timers, every 16 scheduler ticks, guided by the next_due_ns_
// hint), so a timer is not late by the thread's wake-up latency while workers run anyway.
// Cancelling a timer that has fired takes no lock (TimerNode::slot, see cancel_timer).
//
// Wake-up: `sleeping_` implements the Dekker handshake: the thread stores true, then re-checks
// its stacks, timers and the backend; a producer publishes, then exchanges it to false, and
// calls Backend::notify() (an eventfd write) only if it was true.
//
// Backend choice (constructor): EXECUTOR_BACKEND=io_uring|epoll|auto (default auto). auto tries
// io_uring and falls back to epoll, with one log line, when setup fails with EPERM, EACCES,
// ENOSYS or ENOMEM.
//
// Fields: backend_ internals, fired_ — completion thread only after start(); timers_,
// wait_deadline_ (under timer_mu_); submissions_, cancels_, sleeping_, stop_ — any thread,
// atomically.
//
// Shutdown (stop(), called after the runtime has torn its tasks down, so every in-flight op is
// orphaned): the thread cancels everything in flight, keeps dispatching until the backend has
// nothing in flight (bounded by kStopGrace; ops still in flight then are deliberately leaked,
// because the kernel may still write into them), closes both stacks with a sentinel so later
// submissions complete inline with -ECANCELED, and exits.
//
//   running ──stop()──> draining (cancel_all, dispatch until in_flight()==0) ──> closed
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include <executor/detail/io_op.hpp>
#include <executor/detail/timer_node.hpp>

#include "backend.hpp"
#include "dekker_fence.hpp"
#include "timer_wheel.hpp"
#include "worker_ring.hpp"

namespace executor::detail {

class RuntimeImpl;

class Reactor final : public BackendHost {
 public:
  // Selects and sets up the backend. Throws std::system_error naming the cause and the remedy
  // when io_uring is required (EXECUTOR_BACKEND=io_uring) but unavailable, and
  // std::invalid_argument for an unknown EXECUTOR_BACKEND value.
  // `workers`: the runtime's worker count; with io_uring each worker gets a ring of its own
  // (worker_ring.hpp) unless EXECUTOR_WORKER_RINGS=0 (or a worker ring cannot be set up).
  Reactor(RuntimeImpl& rt, unsigned entries, unsigned workers);
  ~Reactor();
  Reactor(const Reactor&) = delete;
  Reactor& operator=(const Reactor&) = delete;

  void start();
  void stop() noexcept;

  // Chooses the op's ring (the calling worker's, else the completion thread's). Idempotent.
  void route(IoOp* op) noexcept;
  void submit(IoOp* op) noexcept;
  // An op routed to a worker ring is queued there (submit) or cancelled under that ring's lock
  // (cancel). Otherwise, on this runtime's workers (worker rings off), submit() and cancel() only
  // push and leave the completion thread's wake-up owed; the worker loop pays it after the tasks
  // of its pass ran (before it looks for work elsewhere or parks), so a burst of submissions
  // costs one wake-up, not one each.
  void pay_owed_wake() noexcept;
  void cancel(IoOp* op) noexcept;
  // For io::Receiver following its task between workers (io_receiver.cpp): see the seams in
  // multishot_op.hpp.
  bool stranded(const IoOp* op) const noexcept;
  void stop_op(IoOp* op) noexcept;
  bool on_worker() const noexcept;
  void run_on_worker(void (*fn)(void*, bool), void* arg) noexcept;
  // The worker loop's hooks for worker `i`'s ring (no-ops without worker rings): flush after a
  // pass, prepare_park (true: completions were dispatched, do not park), resume after unparking,
  // exit when the worker thread ends.
  // A flush that puts the first ops in flight on an awake worker's ring wakes the completion
  // thread if it sleeps longer than kBusyRingCheck: it only bounds its sleep for rings that had
  // ops in flight when it went to sleep, and this owner may now start a long task (nobody else
  // would reap the ring until it ends). Dekker: the owner's in-flight count is written in the
  // flush, then a seq_cst fence, then long_sleep_ is loaded; the completion thread stores
  // long_sleep_, fences, then reads every ring's count (loop()).
  void worker_flush(unsigned i) noexcept {
    if (rings_.empty()) return;
    WorkerRing& r = *rings_[i];
    bool idle = r.in_flight() == 0;
    r.flush();
    if (idle && r.in_flight() != 0) {
      dekker_fence();
      if (long_sleep_.load(std::memory_order_relaxed)) wake();
    }
  }
  bool worker_prepare_park(unsigned i) noexcept {
    return !rings_.empty() && rings_[i]->prepare_park();
  }
  // A worker that resumes with ops in flight on its ring makes the completion thread bound its
  // sleep (kBusyRingCheck) if it sleeps longer. Dekker: we store parked=false, then load
  // long_sleep_; the completion thread stores long_sleep_, then loads every ring's parked flag.
  // Worker `i` found nothing to run: it reaps the other workers' rings that have completions
  // waiting (their owners may be descheduled, or busy in a long task), so the woken tasks run
  // here rather than wait for their worker or the completion thread. True if it found any.
  bool worker_help(unsigned i) noexcept {
    std::size_t n = 0;
    for (unsigned j = 0; j < rings_.size(); ++j) {
      if (j != i) n += rings_[j]->try_reap();
    }
    return n != 0;
  }
  void worker_resume(unsigned i) noexcept {
    if (!rings_.empty() && rings_[i]->resume() && long_sleep_.load(std::memory_order_seq_cst)) {
      wake();
    }
  }
  // RuntimeImpl held back a wake-up (spreading, notify_local) and armed its watch: if this thread
  // sleeps longer than kBusyRingCheck, wake it so that it looks for stuck workers that often.
  // Dekker: the caller's seq_cst exchange of the watch flag, then this load; the completion
  // thread stores long_sleep_, then loads the flag (RuntimeImpl::watching).
  void watch_armed() noexcept {
    if (long_sleep_.load(std::memory_order_seq_cst)) wake();
  }
  // The completion thread is not asleep (a relaxed hint).
  bool awake() const noexcept { return !sleeping_.load(std::memory_order_relaxed); }
  void worker_exit(unsigned i) noexcept {
    if (!rings_.empty()) rings_[i]->owner_exit();
  }

  void add_timer(TimerNode* n);
  void cancel_timer(TimerNode* n) noexcept;
  // Worker side: fires the timers whose tick has ended if the completion thread has not yet
  // (it wakes once per tick at best, and on a busy machine later). Their tasks join the wake
  // queue like those the completion thread fires. Costs one relaxed load when no timer is due
  // (a clock read too when one is pending); skips if another thread holds the timer lock.
  void fire_due_timers() noexcept;

  std::size_t pending_timers() const noexcept;
  const char* backend_name() const noexcept { return backend_->name(); }

  void backend_wake() noexcept override { wake(); }

 private:
  static constexpr std::chrono::seconds kStopGrace{5};
  // How long the completion thread looks for new submissions after a busy pass before it
  // sleeps (see loop()).
  static constexpr std::chrono::microseconds kSpin{50};
  // With ops in flight on a worker ring the completion thread sleeps at most this long before it
  // looks at the ring itself: kBusyRingCheck while the owner is busy (its completions must not
  // wait behind a long-running task), kParkedRingCheck while it is parked (the eventfd wakes us;
  // this only covers the kernel's flag-check window, see worker_ring.hpp).
  static constexpr std::chrono::milliseconds kBusyRingCheck{1};
  static constexpr std::chrono::milliseconds kParkedRingCheck{50};

  void select_backend(unsigned entries);
  void loop() noexcept;
  void wake() noexcept;
  void wake_soon() noexcept;
  std::size_t drain_queues() noexcept;  // returns the ops and cancels taken
  bool spin_for_work() noexcept;
  void fire_timers(std::chrono::steady_clock::time_point now) noexcept;
  void close_queues() noexcept;
  void complete_closed(IoOp* op) noexcept;
  // Reaps the parked workers' rings; with `look`, also rescues the awake ones (WorkerRing::rescue).
  std::size_t reap_rings(bool look) noexcept;
  std::size_t rings_in_flight() const noexcept;
  std::chrono::steady_clock::time_point ring_check_deadline(
      std::chrono::steady_clock::time_point now) const noexcept;

  RuntimeImpl& rt_;
  std::unique_ptr<Backend> backend_;
  std::vector<std::unique_ptr<WorkerRing>> rings_;  // immutable after construction
  std::thread thread_;
  // --- completion thread only ---
  std::vector<Waker> fired_;  // timers fired in one batch (capacity kBatch, reserved up front)
  static constexpr std::size_t kBatch = 256;        // timers fired per lock, completion thread
  static constexpr std::size_t kWorkerBatch = 256;  // timers fired per lock, a worker
  const std::chrono::steady_clock::time_point past_ = std::chrono::steady_clock::time_point::min();

  alignas(64) std::atomic<IoOp*> submissions_{nullptr};
  alignas(64) std::atomic<IoOp*> cancels_{nullptr};
  alignas(64) std::atomic<bool> sleeping_{false};
  // The completion thread sleeps longer than kBusyRingCheck (see worker_resume).
  std::atomic<bool> long_sleep_{false};
  std::atomic<bool> stop_{false};
  // When the completion thread last looked for stuck workers (RuntimeImpl::rescue_stuck) and
  // at the awake workers' rings (reap_rings).
  std::chrono::steady_clock::time_point last_rescue_{};
  std::chrono::steady_clock::time_point last_ring_look_{};

  mutable std::mutex timer_mu_;
  TimerWheel timers_;  // under timer_mu_
  // A hint for fire_due_timers(): when the wheel next has something due, in ns since the
  // clock's epoch (kNeverDue: nothing queued). Written under timer_mu_, read without it.
  static constexpr std::int64_t kNeverDue = INT64_MAX;
  std::atomic<std::int64_t> next_due_ns_{kNeverDue};
  // The deadline the completion thread sleeps until (min() while it is awake); under timer_mu_.
  std::chrono::steady_clock::time_point wait_deadline_ =
      std::chrono::steady_clock::time_point::min();
};

}  // namespace executor::detail
