// The Linux runtime: N worker threads with work-stealing run queues and one completion thread.
//
// Design
// ------
//   wake by a running task -> that worker's LIFO slot (the slot's previous task, if any, to
//                             the back of the LocalQueue)
//   spawn, re-queue (yield), other wakes on a worker -> that worker's LocalQueue (overflow:
//                             half to the InjectQueue)
//   wake (completion thread) -> WakeQueue (batched: one lock per pass)
//   wake (other threads)   -> InjectQueue
//   worker loop            -> every 16th tick, fire due timers the completion thread has not
//                             (Reactor::fire_due_timers; the wakes go to the WakeQueue);
//                             every 61st tick the inject queue first (fairness); on 31 ticks
//                             of 32, tasks woken by the completion thread first (timers and
//                             I/O have waited for the outside world: they must not queue
//                             behind a whole spawn backlog), a few at a time; then the LIFO
//                             slot (at most kMaxLifoRuns runs in a row); then local pop; then
//                             inject (a batch); else steal half of a random victim; else park
//
// The LIFO slot (tokio's design): when a task wakes another (a channel send, a mutex unlock),
// the woken task runs next on the same worker, where the data it is about to read is in
// cache, and no idle worker is woken for it: the slot is not stealable. Without it, the woken
// task went to the local queue and the push woke an idle worker, which stole it, so two tasks
// talking to each other ran on two cores, each hand-off paying a cross-core cache transfer and
// often a futex wake-up; whether a pair ended up split or together decided the ping_pong and
// mutex benchmarks' speed (bimodal, 2x apart, from one process to the next). Bounds: a push
// into an occupied slot moves the previous task to the back of the local queue (and wakes an
// idle worker as a local push does); after kMaxLifoRuns runs in a row from the slot, its task
// goes to the back of the local queue instead, so two tasks waking each other forever cannot
// starve the rest. Only wakes issued by the running task, of a task that has run before, use
// the slot: a spawned task goes to the queue (a parent may spin until another worker runs it),
// the running task's own re-queue (yield_now, the inline-transfer bound) goes to the back of
// the queue, so yield keeps its meaning, and so does the join wake of a finishing task (a
// parent awaiting a batch of children would otherwise run once per child). The cost: a task woken
// into the slot waits until the waking task's run ends, even if another worker is idle, so a task
// that wakes another and then blocks its worker without suspending delays it (as in tokio).
//
// Parking (no idle CPU): a worker that finds nothing registers itself idle (idle_mu_, idle_),
// issues a seq_cst fence, re-checks every queue, and only then sleeps on its own futex word.
// A producer publishes its task, fences, and wakes one idle worker unless one is already
// searching. Either the parker sees the task or the producer sees the parker (Dekker). Work an
// awake worker will run sooner than a wake-up would arrive wakes nobody (spreading: notify_local,
// worth_waking, rescue_stuck in runtime_impl.cpp).
// A woken worker is "searching" until it finds work; when the last searcher finds work it wakes
// another idle worker, so a burst fans out without a thundering herd.
//
// Registry: every task that has suspended at least once is linked in one of kShards
// mutex-protected lists so that teardown can cancel tasks nothing else references (e.g. waiting
// on a channel nobody will send on). A task that finishes in its first run never touches it;
// at teardown, tasks that never ran are found in the run queues. The live-task count is kept in
// per-worker single-writer counters (spawned/finished), not in a shared atomic.
//
// Fields by writer: workers_, reactor_ — immutable after construction; stopping_ — any thread;
// idle_ (under idle_mu_); registry shards (under their mutex); num_idle_, num_searching_ —
// atomics; a Worker's lifo, tick, searching — its own thread (teardown reads them after
// joining it).
//
// Shutdown (~RuntimeImpl): stop workers (each finishes its current slice); cancel every
// unfinished task — destroying its frame runs its awaiters' destructors, which hand in-flight
// I/O ops cancel requests — and drain the queues and LIFO slots, dropping their references; then
// stop the completion thread (it cancels and reaps every op still in flight) and drain once more.
// abandon(): stop workers and the completion thread; unfinished tasks stay as they are.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include <executor/detail/task_header.hpp>

#include "inject_queue.hpp"
#include "local_queue.hpp"
#include "reactor.hpp"

namespace executor::detail {

class RuntimeImpl;

struct Worker {
  RuntimeImpl* rt = nullptr;
  unsigned index = 0;
  LocalQueue queue;
  std::thread thread;
  std::atomic<std::uint32_t> unparked{0};  // futex word: 1 = a waker released this worker
  // For the completion thread's look for a worker stuck in one long task (rescue_stuck): the
  // tick of its latest task run, and whether it is parked. relaxed: hints compared for change.
  std::atomic<std::uint32_t> progress{0};
  std::atomic<bool> parked{false};
  std::uint32_t progress_seen = 0;  // the completion thread's last look at `progress`
  // shed(): parking with work queued for the awake workers; the keeper's progress seen at the
  // last flush point (this thread only).
  bool shedding = false;
  std::uint32_t keeper_seen = 0;
  bool searching = false;  // this worker's thread only
  std::uint32_t tick = 0;  // this worker's thread only
  // The cost model's task-time sample (see measure_tasks): when this worker last flushed or
  // resumed from parking, and its tick then (this worker's thread only).
  std::int64_t sample_ns = 0;
  std::uint32_t sample_tick = 0;
  // When unpark_one released this worker (0: released by shutdown); read by the worker when it
  // resumes, to measure how long a wake-up takes. relaxed: ordered by the release/acquire
  // exchange of `unparked`.
  std::atomic<std::int64_t> unparked_at_ns{0};
  std::uint64_t rng = 0;  // this worker's thread only
  // The LIFO slot (this worker's thread only; never stolen): the task most recently woken by a
  // task running on this worker, run next. lifo_runs counts consecutive runs taken from it.
  TaskHeader* lifo = nullptr;
  std::uint32_t lifo_runs = 0;
  TaskHeader* running = nullptr;  // the task in run_task on this worker (this thread only)
  static constexpr std::uint32_t kMaxLifoRuns = 16;
  // A few tasks taken from the wake queue, run before the local queue: wakes[wakes_pos ..
  // wakes_n) (this thread only).
  static constexpr std::size_t kWakeBatch = 32;
  TaskHeader* wakes[kWakeBatch];
  std::uint32_t wakes_pos = 0;
  std::uint32_t wakes_n = 0;
  // Tasks spawned / finished on this worker's thread: single writer (release store), summed by
  // live_tasks() (acquire loads).
  alignas(64) std::atomic<std::uint64_t> spawned{0};
  std::atomic<std::uint64_t> finished{0};
};

class RuntimeImpl final : public Scheduler {
 public:
  RuntimeImpl(unsigned workers, unsigned ring_entries);
  ~RuntimeImpl();

  void start();
  // Stops every thread; unfinished tasks are left as they are (EXECUTOR_MAIN's exit path).
  void abandon() noexcept;

  // Scheduler
  void schedule(TaskHeader* t) noexcept override;
  void attach(TaskHeader* t) override;
  void detach(TaskHeader* t) noexcept override;
  void register_suspended(TaskHeader* t) noexcept override;

  unsigned worker_count() const noexcept { return static_cast<unsigned>(workers_.size()); }
  // Spreading (see notify_local): the completion thread looks for stuck workers every
  // kBusyRingCheck while watching() (a wake-up was held back and some worker is awake).
  bool watching() const noexcept { return watch_.load(std::memory_order_seq_cst); }
  // Completion thread: a worker that has not moved on to another task since the last call
  // while work waits anywhere (its current task runs long, or the OS descheduled it) gets an
  // idle worker woken to take that work. Stops watching once every worker is parked.
  void rescue_stuck() noexcept;
  // Tasks attached and not yet completed (sums the shards under their locks; a cold path).
  std::size_t live_tasks() const noexcept;
  Reactor& reactor() noexcept { return *reactor_; }
  // True on this runtime's worker threads.
  bool on_worker() const noexcept;
  // The calling worker's index in this runtime, or -1 on any other thread.
  int current_worker_index() const noexcept;

  // While alive on a non-worker thread, schedule() collects tasks and flush() pushes them to
  // the inject queue with one lock and one wake-up.
  class BatchScope {
   public:
    explicit BatchScope(RuntimeImpl& rt) noexcept;
    ~BatchScope();
    void flush() noexcept;

   private:
    friend class RuntimeImpl;
    RuntimeImpl& rt_;
    TaskHeader* first_ = nullptr;
    TaskHeader* last_ = nullptr;
    std::size_t n_ = 0;
    BatchScope* prev_;
  };

 private:
  static constexpr unsigned kShards = 64;
  struct alignas(64) Shard {
    std::mutex mu;
    TaskHeader* head = nullptr;  // under mu
  };

  void worker_main(Worker& w) noexcept;
  // shed(): moves this worker's LIFO slot, wake batch and local queue to the wake queue.
  void hand_off(Worker& w) noexcept;
  TaskHeader* find_task(Worker& w) noexcept;
  TaskHeader* take_from_inject(Worker& w) noexcept;
  TaskHeader* take_wake(Worker& w) noexcept;
  TaskHeader* steal(Worker& w) noexcept;
  bool has_work() const noexcept;
  void park(Worker& w) noexcept;
  void notify_parked() noexcept;
  // notify_parked for work this worker (or an awake one) will run soon: held back while every
  // CPU is busy (see the design note in runtime_impl.cpp).
  void notify_local(const Worker& w) noexcept;
  // The spreading policy's cost model: `queued` tasks are worth waking a parked worker for when
  // running them takes longer than a wake-up does (both measured by this runtime). Always true
  // with EXECUTOR_SPREAD=eager; with packed, only for a backlog of kBacklog tasks.
  bool worth_waking(std::size_t queued) const noexcept;
  // At a worker's flush point: folds the mean run time of the tasks run since the last sample
  // into task_ns_.
  void measure_tasks(Worker& w, std::int64_t now) noexcept;
  // A released worker resumed: folds how long the wake-up took into wake_ns_.
  void measure_wake(Worker& w, std::int64_t now) noexcept;
  // After park(): measures the wake-up, restarts the task-time sample, takes the ring back.
  void resumed(Worker& w) noexcept;
  // Bounds on one sample of the cost model (see measure_tasks, measure_wake).
  static constexpr std::int64_t kMaxTaskSampleNs = 100'000;
  static constexpr std::int64_t kMaxWakeSampleNs = 10'000'000;
  // EXECUTOR_SPREAD=packed, at a worker's flush point while a lower-numbered worker is awake
  // and making progress: this worker hands its queued tasks to the wake queue and parks.
  void shed(Worker& w) noexcept;
  // A wake-up was held back: the completion thread must watch for stuck workers.
  void arm_watch() noexcept;
  void unpark_one() noexcept;
  void transition_from_searching(Worker& w) noexcept;
  void stop_threads() noexcept;  // workers, then the completion thread
  void stop_workers() noexcept;
  void teardown() noexcept;

  std::vector<std::unique_ptr<Worker>> workers_;
  std::unique_ptr<Reactor> reactor_;
  InjectQueue inject_;
  InjectQueue wakes_;  // tasks woken by the completion thread (BatchScope)
  std::atomic<bool> stopping_{false};
  bool stopped_ = false;

  // Spreading (see notify_local): EXECUTOR_SPREAD=auto (the default: the cost model), eager
  // (wake an idle worker for every push, as tokio does) or packed (spread only for a backlog or
  // a stuck worker; a second awake worker hands its work over and parks).
  enum class Spread { kAuto, kEager, kPacked };
  Spread mode_ = Spread::kAuto;
  // A local queue this long spreads in packed mode (notify_local).
  static constexpr std::uint32_t kBacklog = 128;
  // The cost model's two figures, exponentially weighted means (weight 1/8 per sample) of this
  // runtime's own measurements: how long a task runs, and how long a parked worker takes from
  // its release to running. relaxed, written with plain load/store by whichever thread has a
  // sample: hints, a lost update only drops one sample.
  alignas(64) std::atomic<std::int64_t> task_ns_{1'000};
  std::atomic<std::int64_t> wake_ns_{50'000};
  std::atomic<bool> watch_{false};

  std::mutex idle_mu_;
  std::vector<Worker*> idle_;  // under idle_mu_
  alignas(64) std::atomic<unsigned> num_idle_{0};
  alignas(64) std::atomic<unsigned> num_searching_{0};

  mutable Shard shards_[kShards];
  // Spawns and completions on threads that are not this runtime's workers.
  alignas(64) std::atomic<std::uint64_t> foreign_spawned_{0};
  std::atomic<std::uint64_t> foreign_finished_{0};
};

}  // namespace executor::detail
