// A worker's own io_uring ring: I/O started by a task on a worker goes there, so that the worker
// submits a batch of operations with one io_uring_enter and reaps what completed inline (NOPs,
// page-cache reads, sends, receives whose data is there) without any other thread taking part.
//
// Design
// ------
// Why: with one ring owned by the completion thread every operation crosses threads twice
// (worker -> completion thread -> worker), and all kernel work for it (copying a page-cache
// read, a send) runs on that one thread. With a ring per worker the kernel work is spread over
// the workers and an operation that completes inline never leaves its worker.
//
// Submission (owner worker only): submit() links the op on a private pending list; flush(),
// called by the worker loop when its local queue runs dry (and every 32 tasks), prepares all of
// them, enters the ring once (submit + get events) and reaps. The ring's SQ is therefore empty
// whenever its lock is free: a thread that locks it to issue a cancel submits only its own SQE,
// never the owner's (a request belongs to the task that submitted it, and its task_work and
// exit-time cancellation follow that task).
//
// Reaping: the owner reaps at each flush. While the owner runs tasks the ring's eventfd
// notifications are disabled (IORING_CQ_EVENTFD_DISABLED). Before the worker parks,
// prepare_park() flushes, enables them, and reaps once more; from then on every CQE posted to
// this ring (the kernel runs the owner's task_work, waking it briefly, then posts) signals the
// completion thread's eventfd, and the completion thread reaps (reap()). So a parked worker's
// completions are still dispatched by the one thread that waits on the completion queues, and a
// busy worker's inline completions cost no wake-up at all. The completion thread also looks,
// on a bounded sleep, at any ring whose owner is awake with ops in flight (the owner wakes it
// into that bounded sleep when it resumes with ops in flight or its flush puts the first ones in
// flight: Reactor::worker_resume, worker_flush), and reaps it if the owner has not flushed since
// its previous look (rescue(): a long-running task must not hold back the completions queued
// behind it) — see Reactor::loop. It leaves a ring alone while its
// owner flushes it: stealing a busy owner's completions would move their tasks to the shared
// wake queue and, with the owner in the middle of a flush, block on the ring's lock (measured
// with io::Receiver, whose multishot receive keeps the CQ busy: thousands of futex calls a
// second between the two threads).
//
// The ring has COOP_TASKRUN: task_work (the kernel finishing a receive whose socket became
// readable, in the owner's context) does not interrupt a running owner; the owner runs it when
// it next enters the kernel, and flush() enters whenever the kernel flags such work
// (IORING_SQ_TASKRUN). A parked owner sleeps interruptibly, and the kernel wakes it for the
// work as before. Other threads look at the CQ only: entering would run their own task_work.
//
// The kernel reads the eventfd-disabled flag after publishing a CQE with no full barrier
// between the two, so "enable, then re-check the CQ" cannot exclude a CQE published in that
// window on another CPU; the completion thread's bounded sleep (kParkedRingCheck) covers it.
//
// Locking: `mu_` guards the ring (SQ, CQ head) and the backend state of the ops in it
// (IoOp::bflags, backlog). It is uncontended in the common case (the owner); the completion
// thread (reap, shutdown) and cancelling threads take it briefly. Completions are collected
// under the lock and their callbacks run after it is released: a completion may drop the last
// reference to an fd, whose close is submitted again (possibly to this ring).
//
// Cancel (any thread): under the lock, an op still on the pending list is marked (its flush
// completes it with -ECANCELED because cancel_requested is set); an op in the kernel gets an
// ASYNC_CANCEL submitted at once by the cancelling thread.
#pragma once

#include <cstddef>
#include <memory>

#include <executor/detail/io_op.hpp>

namespace executor::detail {

class WorkerRing {
 public:
  virtual ~WorkerRing() = default;

  // --- owner worker ---
  // Queues the op (the backend's reference is counted in op->refs); it starts at flush().
  virtual void submit(IoOp* op) noexcept = 0;
  // Starts the queued ops and dispatches completions. Cheap when there is nothing to do.
  virtual void flush() noexcept = 0;
  // Before parking: flush, hand notifications to the completion thread, reap once more.
  // Returns true if that dispatched completions (then the worker has work: do not park).
  virtual bool prepare_park() noexcept = 0;
  // After unparking: the owner reaps again; no notifications needed. Returns true if ops are in
  // flight (the completion thread must then bound its sleep: see Reactor::worker_resume).
  virtual bool resume() noexcept = 0;
  // The owner thread is exiting: ops never started complete as cancelled (close ops run).
  virtual void owner_exit() noexcept = 0;

  // --- any thread ---
  virtual void cancel(IoOp* op) noexcept = 0;
  // Ends a multishot op in this ring early, as if its `more` had asked: its final result is then
  // > 0 (stopped, not cancelled), so its owner may arm it again on another ring (io::Receiver
  // following its task to another worker). No effect unless the op is in the kernel.
  virtual void stop(IoOp* op) noexcept = 0;
  // Completion thread, owner parked: dispatches completions if any are waiting. Returns how many.
  virtual std::size_t reap() noexcept = 0;
  // Completion thread, owner awake, once per look (kBusyRingCheck): like try_reap(), but only if
  // the owner has not flushed since the previous look (it is in a long task, blocked, or
  // descheduled). A busy owner reaps its own completions: taking them would move their tasks to
  // the shared wake queue and make the owner wait for this thread on the ring's lock.
  virtual std::size_t rescue() noexcept = 0;
  // Another worker with nothing to do: like reap(), but gives up at once if the lock is taken.
  virtual std::size_t try_reap() noexcept = 0;
  // Completion thread, at shutdown: cancels everything in the kernel.
  virtual void cancel_all() noexcept = 0;
  // Ops submitted and not completed (relaxed snapshot).
  virtual std::size_t in_flight() const noexcept = 0;
  // True while the owner is parked (notifications enabled).
  virtual bool parked() const noexcept = 0;
};

// A ring of `entries` SQ entries (CQ 4x) whose completions signal `notify_fd` (an eventfd) while
// its owner is parked. Returns nullptr and sets `err` when the ring cannot be set up.
std::unique_ptr<WorkerRing> make_worker_ring(unsigned entries, int notify_fd, int& err);

}  // namespace executor::detail
