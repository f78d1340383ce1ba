#include "runtime_impl.hpp"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string_view>
#include <utility>

#include <fmt/format.h>

#include <executor/detail/timer_node.hpp>

#include "dekker_fence.hpp"
#include "futex.hpp"
#include "monotonic_ns.hpp"

namespace executor::detail {
namespace {
thread_local Worker* tl_worker = nullptr;
thread_local RuntimeImpl::BatchScope* tl_batch = nullptr;

// The parking protocol needs a full fence on both sides (Dekker): see dekker_fence.hpp.
inline void park_fence() noexcept {
  dekker_fence();
}

std::uint64_t next_random(std::uint64_t& s) noexcept {  // xorshift64*
  s ^= s >> 12;
  s ^= s << 25;
  s ^= s >> 27;
  return s * 0x2545F4914F6CDD1DULL;
}
}  // namespace

RuntimeImpl::RuntimeImpl(unsigned workers, unsigned ring_entries) {
  const char* spread = std::getenv("EXECUTOR_SPREAD");
  std::string_view mode = spread != nullptr ? spread : "";
  if (mode == "eager") {
    mode_ = Spread::kEager;
  } else if (mode == "packed") {
    mode_ = Spread::kPacked;
  } else if (mode.empty() || mode == "auto") {
    mode_ = Spread::kAuto;
  } else {
    throw std::invalid_argument(fmt::format(
        "executor: EXECUTOR_SPREAD={:?} is not a spreading mode (use auto, eager or packed)",
        mode));
  }
  reactor_ = std::make_unique<Reactor>(*this, ring_entries, workers);
  workers_.reserve(workers);
  for (unsigned i = 0; i < workers; ++i) {
    auto w = std::make_unique<Worker>();
    w->rt = this;
    w->index = i;
    w->rng = 0x9E3779B97F4A7C15ULL * (i + 1);
    workers_.push_back(std::move(w));
  }
}

RuntimeImpl::~RuntimeImpl() {
  // The completion thread keeps running while tasks are torn down: destroying a frame whose
  // I/O op is in flight hands the op a cancel request, which only that thread can process. Once
  // teardown is done every op is orphaned, and stopping the reactor cancels and reaps them all.
  // A completion may wake (queue) a task while the first teardown runs; the reactor is stopped
  // after it, so the second pass sees a quiet runtime and releases those queue references.
  stop_workers();
  teardown();
  reactor_->stop();
  teardown();
}

void RuntimeImpl::start() {
  reactor_->start();
  for (auto& w : workers_) {
    Worker* wp = w.get();
    wp->thread = std::thread([this, wp] { worker_main(*wp); });
  }
}

bool RuntimeImpl::on_worker() const noexcept {
  return tl_worker != nullptr && tl_worker->rt == this;
}

int RuntimeImpl::current_worker_index() const noexcept {
  return on_worker() ? static_cast<int>(tl_worker->index) : -1;
}

// --- Scheduling ------------------------------------------------------------------------------

void RuntimeImpl::schedule(TaskHeader* t) noexcept {
  // A batch scope first: the completion thread's, or a worker's while it fires due timers
  // (Reactor::fire_due_timers), whose wakes belong in the wake queue, not the local one.
  if (BatchScope* b = tl_batch; b != nullptr && &b->rt_ == this) {
    t->queue_next = nullptr;
    if (b->last_ != nullptr) {
      b->last_->queue_next = t;
    } else {
      b->first_ = t;
    }
    b->last_ = t;
    ++b->n_;
    return;  // flush() notifies
  }
  Worker* w = tl_worker;
  if (w != nullptr && w->rt == this) {
    // A wake issued by the task this worker is running, of another task that has run before:
    // the LIFO slot, run next here. Not a spawn (epoch 0: never run), not the running task's
    // own re-queue (yield_now, the inline-transfer bound), not the join wake its completion
    // issues (COMPLETE is set by then: the joiner would run once per finished child instead of
    // once per batch). No idle worker is woken for the slot; one is for the task it displaces,
    // as for any local push. relaxed loads: `t` was just made NOTIFIED by this thread's RMW and
    // its epoch only changes in run_task, which cannot start before this push; `r` is ours.
    TaskHeader* r = w->running;
    if (r != nullptr && r != t && state::epoch(t->state.load(std::memory_order_relaxed)) != 0 &&
        (r->state.load(std::memory_order_relaxed) & state::kComplete) == 0) {
      t = std::exchange(w->lifo, t);
      if (t == nullptr) return;
    }
    w->queue.push_back(t, inject_);
    notify_local(*w);
  } else {
    inject_.push(t);
    notify_parked();
  }
}

RuntimeImpl::BatchScope::BatchScope(RuntimeImpl& rt) noexcept : rt_(rt), prev_(tl_batch) {
  tl_batch = this;
}
RuntimeImpl::BatchScope::~BatchScope() {
  flush();
  tl_batch = prev_;
}
void RuntimeImpl::BatchScope::flush() noexcept {
  if (n_ == 0) return;
  rt_.wakes_.push_chain(first_, n_);
  std::size_t n = n_;
  first_ = last_ = nullptr;
  n_ = 0;
  // While a worker is awake and the wakes are not worth a wake-up (notify_local), that worker
  // takes them (it looks at the wake queue before its own on 31 ticks of 32). A worker that
  // parks meanwhile re-checks the wake queue after registering idle (park()).
  // seq_cst fence: the wakes were published before the idle count is read (Dekker with park(),
  // as in notify_parked).
  park_fence();
  if (!rt_.worth_waking(rt_.wakes_.size()) &&
      rt_.num_idle_.load(std::memory_order_relaxed) < rt_.workers_.size()) {
    rt_.arm_watch();
    return;
  }
  rt_.notify_parked();
  if (n > 1) rt_.notify_parked();  // more than one task: let a second worker search too
}

void RuntimeImpl::notify_parked() noexcept {
  // seq_cst fence: pairs with the fence in park() (Dekker: the parker sees the task, or we see
  // the parker registered in num_idle_).
  park_fence();
  if (num_searching_.load(std::memory_order_relaxed) != 0) return;  // a searcher will find it
  if (num_idle_.load(std::memory_order_relaxed) == 0) return;
  unpark_one();
}

// Spreading (docs/architecture.md#spreading). Waking a parked worker for work the waking worker
// queued pays off only if the woken worker arrives while that work still waits: a wake-up costs
// a futex call here, a context switch and a cold cache there, and, when the CPUs are taken by
// other threads, a share of a CPU that another thread was using. So a worker wakes another for
// its local pushes only when the queued tasks would take longer to run than a wake-up takes to
// arrive (worth_waking: both figures are this runtime's own measurements, so the rule reads
// nothing of the rest of the machine, and a machine whose CPUs are contended shows it as slower
// wake-ups). Tasks woken by the completion thread follow the same rule while a worker is awake
// (BatchScope::flush). A held-back wake-up arms the completion thread's watch: every
// kBusyRingCheck it looks for an awake worker that has not started a task since its last look
// while work waits (a long task, or descheduled) and wakes an idle worker for it (rescue_stuck),
// so no task waits much longer than a millisecond behind a blocked worker.
// EXECUTOR_SPREAD=eager wakes for every push; packed spreads only for a backlog of kBacklog
// tasks and makes a second awake worker hand its work over and park (shed).
void RuntimeImpl::notify_local(const Worker& w) noexcept {
  // seq_cst fence: as in notify_parked.
  park_fence();
  if (num_searching_.load(std::memory_order_relaxed) != 0) return;
  if (num_idle_.load(std::memory_order_relaxed) == 0) return;
  if (!worth_waking(w.queue.size())) {
    arm_watch();
    return;
  }
  unpark_one();
}

bool RuntimeImpl::worth_waking(std::size_t queued) const noexcept {
  switch (mode_) {
    case Spread::kEager:
      return true;
    case Spread::kPacked:
      return queued >= kBacklog;
    case Spread::kAuto:
      break;
  }
  // relaxed: hints (see task_ns_).
  std::int64_t work = static_cast<std::int64_t>(queued) * task_ns_.load(std::memory_order_relaxed);
  return work > wake_ns_.load(std::memory_order_relaxed);
}

namespace {
// An exponentially weighted mean with weight 1/8 for the new sample.
inline void fold(std::atomic<std::int64_t>& mean, std::int64_t sample) noexcept {
  std::int64_t m = mean.load(std::memory_order_relaxed);
  mean.store(m + (sample - m) / 8, std::memory_order_relaxed);
}
}  // namespace

void RuntimeImpl::measure_tasks(Worker& w, std::int64_t now) noexcept {
  std::uint32_t runs = w.tick - w.sample_tick;
  std::int64_t elapsed = now - w.sample_ns;
  w.sample_tick = w.tick;
  if (runs == 0 || elapsed <= 0) return;
  // A slice that was mostly one long task (or this thread descheduled) counts as at most
  // kMaxTaskSampleNs per task: one outlier must not make every later push look worth a wake-up.
  fold(task_ns_, std::min<std::int64_t>(elapsed / runs, kMaxTaskSampleNs));
}

void RuntimeImpl::measure_wake(Worker& w, std::int64_t now) noexcept {
  // relaxed: ordered by the acquire exchange of `unparked` that released this worker.
  std::int64_t at = w.unparked_at_ns.exchange(0, std::memory_order_relaxed);
  if (at == 0 || now <= at) return;
  fold(wake_ns_, std::min<std::int64_t>(now - at, kMaxWakeSampleNs));
}

void RuntimeImpl::arm_watch() noexcept {
  // The load first: the flag is usually set already, and a store per push would bounce its
  // line between cores. seq_cst exchange: Dekker with the completion thread's sleep
  // (Reactor::watch_armed).
  if (watch_.load(std::memory_order_relaxed) || watch_.exchange(true, std::memory_order_seq_cst)) {
    return;
  }
  reactor_->watch_armed();
}

void RuntimeImpl::rescue_stuck() noexcept {
  bool awake = false;
  bool stuck = false;
  for (auto& w : workers_) {
    // relaxed: hints; a worker seen awake but just parked, or the reverse, is looked at again
    // within kBusyRingCheck.
    std::uint32_t p = w->progress.load(std::memory_order_relaxed);
    if (!w->parked.load(std::memory_order_relaxed)) {
      awake = true;
      if (p == w->progress_seen) stuck = true;
    }
    w->progress_seen = p;
  }
  if (!awake) {
    // Nobody to rescue: stop watching; the next held-back wake-up arms the watch again. A
    // worker may have woken since its flag was read and found the watch still armed (arm_watch
    // returns at once): Dekker -- it cleared `parked` before its fence (notify_local) and its
    // load of watch_; we store watch_, fence, and read `parked` again.
    watch_.store(false, std::memory_order_seq_cst);
    park_fence();
    for (auto& w : workers_) {
      if (!w->parked.load(std::memory_order_relaxed)) {
        watch_.store(true, std::memory_order_relaxed);
        break;
      }
    }
    return;
  }
  if (stuck && has_work()) notify_parked();
}

void RuntimeImpl::unpark_one() noexcept {
  Worker* w = nullptr;
  {
    std::lock_guard lock(idle_mu_);
    if (idle_.empty()) return;
    w = idle_.back();
    idle_.pop_back();
    num_idle_.fetch_sub(1, std::memory_order_relaxed);
    num_searching_.fetch_add(1, std::memory_order_relaxed);
  }
  // relaxed: published by the release store below (measure_wake).
  w->unparked_at_ns.store(monotonic_ns(), std::memory_order_relaxed);
  // release: pairs with the acquire exchange in park(); the worker starts searching.
  w->unparked.store(1, std::memory_order_release);
  futex_wake_one(w->unparked);
}

void RuntimeImpl::transition_from_searching(Worker& w) noexcept {
  if (!w.searching) return;
  w.searching = false;
  // The last searcher to find work wakes another worker, in case there is more.
  if (num_searching_.fetch_sub(1, std::memory_order_acq_rel) == 1) notify_local(w);
}

// --- Worker loop ------------------------------------------------------------------------------

void RuntimeImpl::shed(Worker& w) noexcept {
  // The keeper: the lowest-numbered awake worker, if it is below this one. relaxed: hints (a
  // wrong guess only delays consolidation, or makes park() below refuse to sleep).
  Worker* keeper = nullptr;
  for (auto& v : workers_) {
    if (v.get() == &w) break;
    if (!v->parked.load(std::memory_order_relaxed)) {
      keeper = v.get();
      break;
    }
  }
  if (keeper == nullptr) return;
  std::uint32_t p = keeper->progress.load(std::memory_order_relaxed);
  bool moving = p != w.keeper_seen;
  w.keeper_seen = p;
  if (!moving) return;  // it may be in a long task: keep running ours
  w.shedding = true;
  // The keeper may start a long task (or block) before it gets to our work: watch for that.
  arm_watch();
  hand_off(w);
  // Completions reaped while handing the ring to the completion thread land in our queue.
  while (reactor_->worker_prepare_park(w.index)) hand_off(w);
  park(w);
  w.shedding = false;
  resumed(w);
}

void RuntimeImpl::hand_off(Worker& w) noexcept {
  TaskHeader* batch[128];
  std::size_t n = 0;
  if (TaskHeader* t = std::exchange(w.lifo, nullptr)) batch[n++] = t;
  w.lifo_runs = 0;
  for (;;) {
    while (n < 128 && w.wakes_pos != w.wakes_n) batch[n++] = w.wakes[w.wakes_pos++];
    while (n < 128) {
      TaskHeader* t = w.queue.pop();
      if (t == nullptr) break;
      batch[n++] = t;
    }
    if (n == 0) return;
    wakes_.push_n(n, [&batch](std::size_t i) { return batch[i]; });
    n = 0;
  }
}

void RuntimeImpl::resumed(Worker& w) noexcept {
  std::int64_t now = monotonic_ns();
  measure_wake(w, now);
  // Time parked is not task time: the next task-time sample starts now.
  w.sample_ns = now;
  w.sample_tick = w.tick;
  reactor_->worker_resume(w.index);
}

void RuntimeImpl::worker_main(Worker& w) noexcept {
  tl_worker = &w;
  w.sample_ns = monotonic_ns();
  w.sample_tick = w.tick;
  reactor_->worker_resume(w.index);
  while (!stopping_.load(std::memory_order_acquire)) {
    TaskHeader* t = find_task(w);
    if (t != nullptr) {
      transition_from_searching(w);
      // relaxed: a counter the completion thread compares for change (rescue_stuck).
      w.progress.store(w.tick, std::memory_order_relaxed);
      w.running = t;
      run_task(t);
      w.running = nullptr;
      // I/O started by the tasks of this pass goes to the kernel in one batch: this worker's
      // ring is flushed (and reaped) when the local queue and LIFO slot run dry and every 32
      // runs; ops that
      // went to the completion thread cost it one wake-up (see Reactor::submit).
      bool dry = w.lifo == nullptr && w.queue.empty();
      if (dry || (w.tick & 31) == 0) {
        // The task-time sample covers the runs since the previous flush, not the flushes
        // themselves (a system call each).
        measure_tasks(w, monotonic_ns());
        reactor_->worker_flush(w.index);
        reactor_->pay_owed_wake();
        w.sample_ns = monotonic_ns();
        if (!dry && mode_ == Spread::kPacked) shed(w);
      }
      continue;
    }
    reactor_->pay_owed_wake();
    // Completions waiting in another worker's ring: run their tasks here.
    if (reactor_->worker_help(w.index)) continue;
    // The ring's completions go to the completion thread while this worker sleeps; if some
    // arrived meanwhile, their tasks are in the local queue now.
    if (reactor_->worker_prepare_park(w.index)) continue;
    park(w);
    resumed(w);
  }
  reactor_->worker_exit(w.index);
  if (w.searching) {
    w.searching = false;
    num_searching_.fetch_sub(1, std::memory_order_relaxed);
  }
  tl_worker = nullptr;
}

TaskHeader* RuntimeImpl::find_task(Worker& w) noexcept {
  std::uint32_t tick = ++w.tick;
  // Every 61st tick the inject queue first, so foreign spawns are not starved by a worker whose
  // local queue never empties. Tasks woken by the completion thread (timers, I/O) go before
  // local work on 31 ticks of 32: they have waited for the outside world, and a sleep's
  // overshoot is how long its wake waits here. When 100,000 sleeps start in a burst (the timers
  // benchmark), the first ones come due while the later ones are still starting, about as fast
  // as those start, so whatever share local work keeps, the wake queue grows by it: 1 in 2 (the
  // first design) gave 1.9x the mean overshoot of 1 in 8, and 1 in 8 1.3x that of 1 in 32 (see
  // the commits). The 32nd tick keeps a flood of completions from starving local work.
  // Every 16th tick, fire the timers that are due if the completion thread has not (it wakes
  // once per 65.5 us tick at best, later when the machine is busy); their tasks go to the wake
  // queue taken just below.
  // Then the LIFO slot, at most kMaxLifoRuns times in a row: after that its task goes to the
  // back of the local queue, behind whatever waits there (two tasks waking each other would
  // otherwise keep the slot forever). No idle worker is woken for it if the queue was empty:
  // this worker runs it next.
  if ((tick & 15) == 0) reactor_->fire_due_timers();
  if (tick % 61 == 0) {
    if (TaskHeader* t = take_from_inject(w)) return t;
  }
  if ((tick & 31) != 0) {
    if (TaskHeader* t = take_wake(w)) return t;
  }
  if (TaskHeader* t = w.lifo) {
    w.lifo = nullptr;
    if (w.lifo_runs < Worker::kMaxLifoRuns) {
      ++w.lifo_runs;
      return t;
    }
    bool others = !w.queue.empty();
    w.queue.push_back(t, inject_);
    if (others) notify_local(w);
  }
  w.lifo_runs = 0;
  if (TaskHeader* t = w.queue.pop()) return t;
  if (TaskHeader* t = take_wake(w)) return t;
  if (TaskHeader* t = take_from_inject(w)) return t;
  return steal(w);
}

TaskHeader* RuntimeImpl::take_wake(Worker& w) noexcept {
  if (w.wakes_pos == w.wakes_n) {
    if (wakes_.size() == 0) return nullptr;
    // A small share, so the other workers get theirs too.
    std::size_t share = wakes_.size() / workers_.size() + 1;
    std::size_t n = wakes_.pop_batch(w.wakes, std::min<std::size_t>(share, Worker::kWakeBatch));
    if (n == 0) return nullptr;
    // These tasks were woken by another thread, usually on the other core or long ago: their
    // headers are not in this core's cache. Fetch them all now, so that their misses overlap
    // instead of each run starting with one.
    for (std::size_t i = 0; i < n; ++i) __builtin_prefetch(w.wakes[i], 1);
    w.wakes_pos = 0;
    w.wakes_n = static_cast<std::uint32_t>(n);
  }
  TaskHeader* t = w.wakes[w.wakes_pos++];
  // And the next task's frame, while this one runs (its resume starts with a load of the frame).
  // Reading resume_point is ordered: the task's last run wrote it before its idle transition,
  // which its waker's CAS read before it queued the task, which we popped under the queue lock.
  if (w.wakes_pos != w.wakes_n) {
    auto* frame = static_cast<char*>(w.wakes[w.wakes_pos]->resume_point.address());
    __builtin_prefetch(frame, 0);
    __builtin_prefetch(frame + 64, 1);
  }
  return t;
}

TaskHeader* RuntimeImpl::take_from_inject(Worker& w) noexcept {
  if (inject_.size() == 0) return nullptr;
  // Take a fair share, at most 128 (a copy of pointers under the queue's lock); run the first,
  // queue the rest locally.
  std::size_t share = inject_.size() / workers_.size() + 1;
  TaskHeader* batch[128];
  std::size_t n = inject_.pop_batch(batch, std::min<std::size_t>(share, 128));
  if (n == 0) return nullptr;
  for (std::size_t i = 1; i < n; ++i) w.queue.push_back(batch[i], inject_);
  return batch[0];
}

TaskHeader* RuntimeImpl::steal(Worker& w) noexcept {
  std::size_t n = workers_.size();
  if (n < 2) return nullptr;
  std::size_t start = next_random(w.rng) % n;
  for (std::size_t i = 0; i < n; ++i) {
    Worker& victim = *workers_[(start + i) % n];
    if (&victim == &w) continue;
    if (TaskHeader* t = victim.queue.steal_into(w.queue)) return t;
  }
  return nullptr;
}

bool RuntimeImpl::has_work() const noexcept {
  if (inject_.size() != 0 || wakes_.size() != 0) return true;
  for (const auto& w : workers_) {
    if (!w->queue.empty()) return true;
  }
  return false;
}

void RuntimeImpl::park(Worker& w) noexcept {
  // Only task runs fill the LIFO slot and find_task just found it empty; checked anyway, as a
  // parked worker's slot would stay unrun.
  if (w.lifo != nullptr) return;
  {
    std::lock_guard lock(idle_mu_);
    idle_.push_back(&w);
    num_idle_.fetch_add(1, std::memory_order_relaxed);
  }
  if (w.searching) {
    w.searching = false;
    num_searching_.fetch_sub(1, std::memory_order_relaxed);
  }
  // seq_cst fence: pairs with notify_parked() (see the design note).
  park_fence();
  // A shedding worker sleeps with work queued as long as another worker is awake: that one
  // re-checks the queues after registering idle (this check, on its side), so it either runs
  // the work or does not park. Dekker on num_idle_ (ours counted before the fence).
  bool work =
      has_work() && (!w.shedding || num_idle_.load(std::memory_order_seq_cst) == workers_.size());
  if (work || stopping_.load(std::memory_order_seq_cst)) {
    std::lock_guard lock(idle_mu_);
    auto it = std::find(idle_.begin(), idle_.end(), &w);
    if (it != idle_.end()) {
      idle_.erase(it);
      num_idle_.fetch_sub(1, std::memory_order_relaxed);
      return;
    }
    // Someone already unparked us: fall through and consume their signal.
  }
  w.parked.store(true, std::memory_order_relaxed);  // a hint for rescue_stuck
  // acquire: pairs with the release store in unpark_one()/stop_threads().
  while (w.unparked.exchange(0, std::memory_order_acquire) == 0) {
    futex_wait(w.unparked, 0);
  }
  w.parked.store(false, std::memory_order_relaxed);
  w.searching = true;  // unpark_one counted us in num_searching_ (stop_threads too)
}

// --- Registry -------------------------------------------------------------------------------

namespace {
// Single-writer counter bump: only the owning thread writes it. release: pairs with the acquire
// loads in live_tasks().
inline void bump(std::atomic<std::uint64_t>& c) noexcept {
  c.store(c.load(std::memory_order_relaxed) + 1, std::memory_order_release);
}
}  // namespace

void RuntimeImpl::attach(TaskHeader*) {
  Worker* w = tl_worker;
  if (w != nullptr && w->rt == this) {
    bump(w->spawned);
  } else {
    foreign_spawned_.fetch_add(1, std::memory_order_release);
  }
}

void RuntimeImpl::register_suspended(TaskHeader* t) noexcept {
  Shard& s = shards_[t->id % kShards];
  std::lock_guard lock(s.mu);
  t->reg_prev = nullptr;
  t->reg_next = s.head;
  if (s.head != nullptr) s.head->reg_prev = t;
  s.head = t;
}

void RuntimeImpl::detach(TaskHeader* t) noexcept {
  if (t->registered) {
    Shard& s = shards_[t->id % kShards];
    std::lock_guard lock(s.mu);
    if (t->reg_prev != nullptr) {
      t->reg_prev->reg_next = t->reg_next;
    } else {
      s.head = t->reg_next;
    }
    if (t->reg_next != nullptr) t->reg_next->reg_prev = t->reg_prev;
    t->reg_prev = t->reg_next = nullptr;
  }
  Worker* w = tl_worker;
  if (w != nullptr && w->rt == this) {
    bump(w->finished);
  } else {
    foreign_finished_.fetch_add(1, std::memory_order_release);
  }
}

std::size_t RuntimeImpl::live_tasks() const noexcept {
  // Completions first: every completion counted happened after its spawn was counted
  // (spawn -> schedule -> run -> complete), so the spawn sum read afterwards includes it.
  std::uint64_t finished = foreign_finished_.load(std::memory_order_acquire);
  for (const auto& w : workers_) finished += w->finished.load(std::memory_order_acquire);
  std::uint64_t spawned = foreign_spawned_.load(std::memory_order_acquire);
  for (const auto& w : workers_) spawned += w->spawned.load(std::memory_order_acquire);
  return spawned > finished ? static_cast<std::size_t>(spawned - finished) : 0;
}

// --- Shutdown -------------------------------------------------------------------------------

void RuntimeImpl::stop_threads() noexcept {
  stop_workers();
  reactor_->stop();
}

void RuntimeImpl::stop_workers() noexcept {
  if (stopped_) return;
  stopped_ = true;
  stopping_.store(true, std::memory_order_seq_cst);
  {
    std::lock_guard lock(idle_mu_);
    for (Worker* w : idle_) {
      num_searching_.fetch_add(1, std::memory_order_relaxed);
      w->unparked.store(1, std::memory_order_release);
      futex_wake_one(w->unparked);
    }
    idle_.clear();
    num_idle_.store(0, std::memory_order_relaxed);
  }
  for (auto& w : workers_) {
    if (!w->thread.joinable()) continue;
    if (w->thread.get_id() == std::this_thread::get_id()) {
      // Stopped from this worker (std::exit() from a task, ~Runtime): it cannot join itself,
      // and it never returns to its loop.
      w->thread.detach();
      continue;
    }
    w->thread.join();
  }
}

void RuntimeImpl::abandon() noexcept {
  stop_threads();
}

void RuntimeImpl::teardown() noexcept {
  // No thread runs tasks any more. Cancelling a task may wake or spawn others (into the inject
  // queue), so repeat until both the registry and the queues are empty.
  for (;;) {
    bool any = false;
    for (Shard& s : shards_) {
      for (;;) {
        TaskHeader* t;
        {
          std::lock_guard lock(s.mu);
          t = s.head;
        }
        if (t == nullptr) break;
        any = true;
        teardown_task(t);  // completes it, which detaches it from the shard
      }
    }
    // Queued tasks: some never ran (so they are not in the registry); cancel those too.
    for (auto& w : workers_) {
      if (TaskHeader* t = std::exchange(w->lifo, nullptr)) {
        any = true;
        teardown_task(t);
        release_queued(t);
      }
      while (w->wakes_pos != w->wakes_n) {
        TaskHeader* t = w->wakes[w->wakes_pos++];
        any = true;
        teardown_task(t);
        release_queued(t);
      }
      w->queue.drain([&](TaskHeader* t) {
        any = true;
        teardown_task(t);
        release_queued(t);
      });
    }
    for (InjectQueue* q : {&inject_, &wakes_}) {
      TaskHeader* batch[256];
      while (std::size_t n = q->pop_batch(batch, 256)) {
        any = true;
        for (std::size_t i = 0; i < n; ++i) {
          teardown_task(batch[i]);
          release_queued(batch[i]);
        }
      }
    }
    if (!any) break;
  }
}

// --- Seams used by public headers ---------------------------------------------------------------

namespace {
RuntimeImpl* current_runtime_or_die() noexcept {
  auto* s = static_cast<RuntimeImpl*>(current_scheduler());
  if (s == nullptr) fatal("executor: no runtime for this operation");
  return s;
}
}  // namespace

void timer_insert(TimerNode* node) {
  current_runtime_or_die()->reactor().add_timer(node);
}

void timer_cancel(TimerNode* node) noexcept {
  if (node->owner != nullptr) static_cast<Reactor*>(node->owner)->cancel_timer(node);
}

Reactor* current_reactor() noexcept {
  return &current_runtime_or_die()->reactor();
}

}  // namespace executor::detail
