#include "reactor.hpp"

#include <sys/prctl.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <future>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

#include <fmt/format.h>

#include <executor/spawn.hpp>
#include <executor/task.hpp>

#include "runtime_impl.hpp"

namespace executor::detail {

namespace {

// Marks a stack the completion thread has closed (runtime stopped). Never dereferenced.
IoOp g_closed_marker;
IoOp* const kClosed = &g_closed_marker;

// Pushes `op` (linked through `link`) onto a Treiber stack; false if the stack is closed.
bool push(std::atomic<IoOp*>& stack, IoOp* op, IoOp* IoOp::*link) noexcept {
  IoOp* head = stack.load(std::memory_order_relaxed);
  do {
    if (head == kClosed) return false;
    op->*link = head;
    // seq_cst: release publishes the op's fields to the completion thread's exchange (acquire);
    // the single total order pairs with the sleeping_ handshake in wake().
  } while (
      !stack.compare_exchange_weak(head, op, std::memory_order_seq_cst, std::memory_order_relaxed));
  return true;
}

// Takes a whole stack and returns it in push (FIFO) order.
IoOp* take_fifo(std::atomic<IoOp*>& stack, IoOp* IoOp::*link) noexcept {
  // relaxed pre-check: avoids a write to the shared line when the stack is empty.
  if (stack.load(std::memory_order_relaxed) == nullptr) return nullptr;
  // acquire: pairs with the release in push() so each op's fields are visible.
  IoOp* s = stack.exchange(nullptr, std::memory_order_acquire);
  IoOp* fifo = nullptr;
  while (s != nullptr) {
    IoOp* next = s->*link;
    s->*link = fifo;
    fifo = s;
    s = next;
  }
  return fifo;
}

// A time point as ns since the clock's epoch; time_point::max() maps to Reactor::kNeverDue.
std::int64_t ns_since_epoch(std::chrono::steady_clock::time_point t) noexcept {
  if (t == std::chrono::steady_clock::time_point::max()) return INT64_MAX;
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

// A fired timer's task header is woken (one CAS) after the batch is collected and the timer
// lock released: fetching it while the wheel walks on overlaps that miss with the walk's.
inline void prefetch_task(const Waker& w) noexcept {
  __builtin_prefetch(w.task(), 1);
}

// This worker pushed onto a stack without waking the completion thread (see pay_owed_wake).
thread_local Reactor* tl_owed_wake = nullptr;

bool fallback_allowed(int err) {
  return err == EPERM || err == EACCES || err == ENOSYS || err == ENOMEM || err == ENOTSUP;
}

}  // namespace

Reactor::Reactor(RuntimeImpl& rt, unsigned entries, unsigned workers) : rt_(rt) {
  fired_.reserve(kBatch);  // fire_timers() never grows it
  select_backend(entries);
  const char* rings = std::getenv("EXECUTOR_WORKER_RINGS");
  if (backend_->notify_fd() < 0 || (rings != nullptr && std::string_view(rings) == "0")) return;
  for (unsigned i = 0; i < workers; ++i) {
    int err = 0;
    auto r = make_worker_ring(entries, backend_->notify_fd(), err);
    if (r == nullptr) {
      // Not fatal: every op then goes through the completion thread's ring.
      std::fputs(fmt::format("executor: cannot set up a worker's io_uring ring ({}); all I/O "
                             "goes through the completion thread\n",
                             std::strerror(err))
                     .c_str(),
                 stderr);
      rings_.clear();
      return;
    }
    rings_.push_back(std::move(r));
  }
}

void Reactor::select_backend(unsigned entries) {
  const char* env = std::getenv("EXECUTOR_BACKEND");
  std::string_view mode = env != nullptr ? env : "";
  if (mode == "epoll") {
    backend_ = make_epoll_backend(*this);
    return;
  }
  if (!mode.empty() && mode != "auto" && mode != "io_uring") {
    throw std::invalid_argument(fmt::format(
        "executor: EXECUTOR_BACKEND={:?} is not a backend (use io_uring, epoll or auto)", mode));
  }
  int err = 0;
  std::string why;
  backend_ = make_uring_backend(entries, err, why);
  if (backend_ != nullptr) return;
  std::string msg = fmt::format("cannot set up io_uring ({}): {}", std::strerror(err), why);
  if (mode == "io_uring" || !fallback_allowed(err)) {
    throw std::system_error(err, std::generic_category(), "executor: " + msg);
  }
  backend_ = make_epoll_backend(*this);
  // The one log line of the automatic fallback.
  std::fputs(fmt::format("executor: {}; using the epoll backend instead (EXECUTOR_BACKEND="
                         "io_uring makes this an error)\n",
                         msg)
                 .c_str(),
             stderr);
}

Reactor::~Reactor() {
  stop();
  if (rings_in_flight() > 0) {
    for (auto& r : rings_) (void)r.release();  // the kernel may still write into their ops
  }
  // Ops still in flight after the grace period may yet be written by the kernel or finished by
  // a pool thread that reports to the backend: leave both allocated rather than risk that.
  if (backend_->in_flight() > 0) {
    backend_->orphan();  // a pool thread that finishes one of them later must not wake us
    (void)backend_.release();
    return;
  }
  backend_->quiesce();  // backend_ stays set meanwhile: a late backend_wake() may use it
  backend_.reset();
}

void Reactor::start() {
  std::promise<int> attached;
  std::future<int> result = attached.get_future();
  thread_ = std::thread([this, &attached] {
    int err = backend_->attach_thread();
    attached.set_value(err);
    if (err == 0) loop();
  });
  int err = result.get();
  if (err != 0) {
    thread_.join();
    throw std::system_error(err, std::generic_category(),
                            "executor: cannot bind the I/O backend to the completion thread");
  }
}

void Reactor::stop() noexcept {
  if (!thread_.joinable()) {
    close_queues();  // never started (or already stopped): settle anything queued
    return;
  }
  stop_.store(true, std::memory_order_seq_cst);
  sleeping_.store(false, std::memory_order_relaxed);
  backend_->notify();
  thread_.join();
}

void Reactor::wake() noexcept {
  // seq_cst: pairs with the completion thread's store(true) + re-check (Dekker).
  if (sleeping_.exchange(false, std::memory_order_seq_cst)) backend_->notify();
}

void Reactor::complete_closed(IoOp* op) noexcept {
  // The runtime has stopped: nothing will run the op asynchronously any more.
  int res = (op->options & kOpNoCancel) != 0 ? run_blocking(op) : -ECANCELED;
  op->complete(op, res);
}

void Reactor::route(IoOp* op) noexcept {
  if (op->routed) return;
  op->routed = true;
  op->ring = nullptr;
  if (rings_.empty()) return;
  int i = rt_.current_worker_index();
  if (i >= 0) op->ring = rings_[static_cast<unsigned>(i)].get();
}

void Reactor::submit(IoOp* op) noexcept {
  route(op);
  if (op->ring != nullptr) {
    static_cast<WorkerRing*>(op->ring)->submit(op);  // started at the worker's next flush
    return;
  }
  if (!push(submissions_, op, &IoOp::next)) {
    complete_closed(op);
    return;
  }
  wake_soon();
}

void Reactor::wake_soon() noexcept {
  if (rt_.on_worker()) {
    if (tl_owed_wake != this) {
      if (tl_owed_wake != nullptr) tl_owed_wake->pay_owed_wake();  // another runtime's
      tl_owed_wake = this;
    }
    return;
  }
  wake();
}

void Reactor::pay_owed_wake() noexcept {
  if (tl_owed_wake == nullptr) return;
  Reactor* r = std::exchange(tl_owed_wake, nullptr);
  r->wake();
}

void Reactor::cancel(IoOp* op) noexcept {
  // acq_rel: the first requester wins; later ones (an orphaning after a token cancel) no-op.
  if (op->cancel_requested.exchange(true, std::memory_order_acq_rel)) return;
  if (op->ring != nullptr) {
    static_cast<WorkerRing*>(op->ring)->cancel(op);  // synchronous: the caller's reference holds
    return;
  }
  io_op_ref(op);  // the queued request's reference
  if (!push(cancels_, op, &IoOp::cancel_next)) {
    io_op_unref(op);  // closed: the op has completed or will complete as cancelled
    return;
  }
  wake_soon();
}

bool Reactor::stranded(const IoOp* op) const noexcept {
  // The completion thread's own ring (op->ring null) is left alone: its cancels are queued, not
  // synchronous, and a worker consumer only puts a receive there by re-arming off a worker,
  // which run_on_worker avoids.
  if (op->ring == nullptr) return false;
  int i = rt_.current_worker_index();
  if (i < 0) return false;
  auto* ring = static_cast<WorkerRing*>(op->ring);
  // parked(): a relaxed hint; a wrong guess costs one needless move or one more chunk relayed.
  return ring != rings_[static_cast<unsigned>(i)].get() && ring->parked();
}

void Reactor::stop_op(IoOp* op) noexcept {
  if (op->ring != nullptr) static_cast<WorkerRing*>(op->ring)->stop(op);
}

bool Reactor::on_worker() const noexcept {
  return rt_.on_worker();
}

namespace {

// Owns one run_on_worker request: fn(arg, true) when run, fn(arg, false) if the task dies unrun
// (its frame, holding this, is destroyed: creation or spawn failed, or runtime teardown).
class WorkerJob {
 public:
  WorkerJob(void (*fn)(void*, bool), void* arg) noexcept : fn_(fn), arg_(arg) {}
  WorkerJob(WorkerJob&& o) noexcept : fn_(std::exchange(o.fn_, nullptr)), arg_(o.arg_) {}
  WorkerJob& operator=(WorkerJob&&) = delete;
  ~WorkerJob() {
    if (fn_ != nullptr) fn_(arg_, false);
  }
  void run() noexcept { std::exchange(fn_, nullptr)(arg_, true); }

 private:
  void (*fn_)(void*, bool);
  void* arg_;
};

Task<void> run_job(WorkerJob job) {
  job.run();
  co_return;
}

}  // namespace

void Reactor::run_on_worker(void (*fn)(void*, bool), void* arg) noexcept {
  try {
    spawn_on(&rt_, run_job(WorkerJob(fn, arg))).detach();
  } catch (...) {
    // The job died with the task's frame (or never reached one): fn(arg, false) has run.
  }
}

void Reactor::add_timer(TimerNode* n) {
  bool sooner;
  {
    std::lock_guard lock(timer_mu_);
    n->owner = this;
    timers_.insert(n);
    // The completion thread only needs a wake-up if it sleeps (or is about to) past this timer.
    auto due = TimerWheel::due_time(n);
    sooner = due < wait_deadline_;
    std::int64_t due_ns = ns_since_epoch(due);
    // relaxed: a hint (see fire_due_timers); the lock orders it with the other writers.
    if (due_ns < next_due_ns_.load(std::memory_order_relaxed)) {
      next_due_ns_.store(due_ns, std::memory_order_relaxed);
    }
  }
  if (sooner) wake();
}

void Reactor::fire_due_timers() noexcept {
  // relaxed: only a hint. A stale value costs a useless lock (too early) or leaves the timers to
  // the completion thread, which fires them by its own deadline anyway (too late).
  std::int64_t due = next_due_ns_.load(std::memory_order_relaxed);
  if (due == kNeverDue) return;
  auto now = std::chrono::steady_clock::now();
  if (ns_since_epoch(now) < due) return;
  // At most kWorkerBatch per call (the worker comes back 16 ticks later, the completion thread
  // takes the rest if the workers stop), taken under the lock and woken after it, so arming
  // sleeps on the other worker waits for a short walk, not for the wakes' cache misses too.
  Waker batch[kWorkerBatch];
  std::size_t n = 0;
  {
    std::unique_lock lock(timer_mu_, std::try_to_lock);
    if (!lock.owns_lock()) return;  // the completion thread (or another worker) is firing
    n = timers_.poll(
        now,
        [&](TimerNode* t) {
          prefetch_task(t->waker);
          batch[n++] = std::move(t->waker);
        },
        kWorkerBatch);
    next_due_ns_.store(ns_since_epoch(timers_.next_due()), std::memory_order_relaxed);
  }
  // The scope routes the wakes to the wake queue (not this worker's local queue, behind its
  // backlog) and hands them over in one batch when it ends.
  RuntimeImpl::BatchScope scope(rt_);
  for (std::size_t i = 0; i < n; ++i) batch[i].wake();
}

void Reactor::cancel_timer(TimerNode* n) noexcept {
  // acquire: pairs with the release store in TimerWheel::poll. Seeing kNotQueued means the
  // completion thread has taken the waker and will not touch the node again (or the node was
  // never queued), so the caller may free it: the common case, a sleep that completed, costs no
  // lock.
  if (n->slot.load(std::memory_order_acquire) == TimerNode::kNotQueued) return;
  Waker dropped;
  {
    std::lock_guard lock(timer_mu_);
    if (n->slot.load(std::memory_order_relaxed) == TimerNode::kNotQueued) return;  // just fired
    timers_.remove(n);
    dropped = std::move(n->waker);
  }
}

std::size_t Reactor::pending_timers() const noexcept {
  std::lock_guard lock(timer_mu_);
  return timers_.size();
}

std::size_t Reactor::drain_queues() noexcept {
  // Cancels are taken first: a cancel is usually pushed after its op's submission, so the op is
  // in the submission list taken next (or an earlier one). A token may fire between hooking and
  // submitting; then the cancel can reach the backend first, which tolerates it (no effect),
  // and the op, marked cancel_requested, completes with -ECANCELED when it is submitted.
  IoOp* cancels = take_fifo(cancels_, &IoOp::cancel_next);
  IoOp* subs = take_fifo(submissions_, &IoOp::next);
  bool stopping = stop_.load(std::memory_order_acquire);
  std::size_t taken = 0;
  while (subs != nullptr) {
    IoOp* next = subs->next;
    ++taken;
    if (stopping) {
      complete_closed(subs);
    } else {
      backend_->submit(subs);
    }
    subs = next;
  }
  std::size_t n = 0;
  while (cancels != nullptr) {
    IoOp* next = cancels->cancel_next;
    backend_->cancel(cancels);
    io_op_unref(cancels);
    cancels = next;
    ++n;
  }
  return n + taken;
}

bool Reactor::spin_for_work() noexcept {
  auto until = std::chrono::steady_clock::now() + kSpin;
  for (;;) {
    for (int i = 0; i < 64; ++i) {
      // relaxed: only a hint; the exchange in drain_queues() acquires.
      if (submissions_.load(std::memory_order_relaxed) != nullptr ||
          cancels_.load(std::memory_order_relaxed) != nullptr || backend_->has_ready()) {
        return true;
      }
#if defined(__x86_64__) || defined(__i386__)
      __builtin_ia32_pause();
#endif
    }
    if (std::chrono::steady_clock::now() >= until) return false;
  }
}

void Reactor::close_queues() noexcept {
  IoOp* subs = submissions_.exchange(kClosed, std::memory_order_acq_rel);
  IoOp* cancels = cancels_.exchange(kClosed, std::memory_order_acq_rel);
  if (subs == kClosed) return;  // closed before
  while (subs != nullptr) {
    IoOp* next = subs->next;
    complete_closed(subs);
    subs = next;
  }
  while (cancels != nullptr && cancels != kClosed) {
    IoOp* next = cancels->cancel_next;
    io_op_unref(cancels);
    cancels = next;
  }
}

std::size_t Reactor::reap_rings(bool look) noexcept {
  std::size_t n = 0;
  for (auto& r : rings_) {
    if (r->parked()) {
      n += r->reap();
    } else if (look) {
      n += r->rescue();
    }
  }
  return n;
}

std::size_t Reactor::rings_in_flight() const noexcept {
  std::size_t n = 0;
  for (const auto& r : rings_) n += r->in_flight();
  return n;
}

std::chrono::steady_clock::time_point Reactor::ring_check_deadline(
    std::chrono::steady_clock::time_point now) const noexcept {
  auto d = std::chrono::steady_clock::time_point::max();
  for (const auto& r : rings_) {
    if (r->in_flight() == 0) continue;
    d = std::min(d, now + (r->parked() ? std::chrono::steady_clock::duration(kParkedRingCheck)
                                       : std::chrono::steady_clock::duration(kBusyRingCheck)));
  }
  return d;
}

void Reactor::fire_timers(std::chrono::steady_clock::time_point now) noexcept {
  // In batches of kBatch under the lock (fired_ never grows past its reserved capacity, and
  // workers arming sleeps wait for one batch at most), woken after unlocking.
  for (std::size_t n = kBatch; n == kBatch;) {
    fired_.clear();
    {
      std::lock_guard lock(timer_mu_);
      wait_deadline_ = std::chrono::steady_clock::time_point::min();  // awake: no wake-ups
      n = timers_.poll(
          now,
          [this](TimerNode* t) {
            prefetch_task(t->waker);
            fired_.push_back(std::move(t->waker));
          },
          kBatch);
      // relaxed: a hint (see fire_due_timers).
      next_due_ns_.store(ns_since_epoch(timers_.next_due()), std::memory_order_relaxed);
    }
    for (Waker& w : fired_) w.wake();  // after unlocking: waking may take the inject lock
  }
  fired_.clear();
}

void Reactor::loop() noexcept {
  using Clock = std::chrono::steady_clock;
  // Precise timers: the default 50 us slack would dominate the timer benchmark's overshoot.
  ::prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
  RuntimeImpl::BatchScope batch(rt_);  // schedule() from this thread batches into the inject queue
  bool draining = false;
  Clock::time_point stop_deadline{};
  bool busy = false;  // the last pass took or completed ops
  for (;;) {
    busy = drain_queues() > 0 || busy;
    Clock::time_point now = Clock::now();
    // The awake workers' rings once per kBusyRingCheck (the sleep below is bounded by it while
    // they have ops in flight); the parked workers' rings whenever their eventfd woke us.
    bool look = now - last_ring_look_ >= kBusyRingCheck;
    if (look) last_ring_look_ = now;
    // Reaping a worker ring does not count as busy: the spin below waits for submissions to
    // this thread's own stacks, which the tasks woken from a worker ring do not make (their I/O
    // goes to their worker's ring), and spinning would take a core from the workers.
    reap_rings(look);
    fire_timers(now);
    batch.flush();
    if (rt_.watching() && now - last_rescue_ >= kBusyRingCheck) {
      last_rescue_ = now;
      rt_.rescue_stuck();
    }

    if (stop_.load(std::memory_order_acquire)) {
      if (!draining) {
        draining = true;
        backend_->cancel_all();
        for (auto& r : rings_) r->cancel_all();
        stop_deadline = now + kStopGrace;
      }
      if (backend_->in_flight() == 0 && rings_in_flight() == 0) break;
      if (now >= stop_deadline) {
        std::fputs(fmt::format("executor: {} I/O operation(s) still in flight {} s after "
                               "shutdown began; leaving their memory allocated\n",
                               backend_->in_flight() + rings_in_flight(), kStopGrace.count())
                       .c_str(),
                   stderr);
        break;
      }
    }

    // Just busy (ops taken or completed): workers are likely to submit again within
    // microseconds (their tasks were just woken). Look for that briefly before paying for a
    // sleep and their eventfd write.
    if (busy && !draining && spin_for_work()) {
      backend_->wait(&past_);
      busy = true;
      continue;
    }

    // Going to sleep: announce it, then re-check everything a producer may have published.
    sleeping_.store(true, std::memory_order_seq_cst);
    bool runnable = submissions_.load(std::memory_order_seq_cst) != nullptr ||
                    cancels_.load(std::memory_order_seq_cst) != nullptr || backend_->has_ready() ||
                    (!draining && stop_.load(std::memory_order_seq_cst));
    // seq_cst store before the rings' parked flags and the watch flag are read (see
    // worker_resume, watch_armed); the fence orders it before the rings' in-flight counts too,
    // which are relaxed (see worker_flush).
    long_sleep_.store(true, std::memory_order_seq_cst);
    dekker_fence();
    Clock::time_point deadline =
        draining ? std::min(stop_deadline, now + kBusyRingCheck) : ring_check_deadline(now);
    if (rt_.watching()) deadline = std::min(deadline, last_rescue_ + kBusyRingCheck);
    {
      std::lock_guard lock(timer_mu_);
      deadline = std::min(deadline, timers_.next_due());
      // From here until fire_timers() resets it, add_timer() wakes us for anything due sooner.
      wait_deadline_ = deadline;
    }
    if (deadline <= now + kBusyRingCheck) long_sleep_.store(false, std::memory_order_relaxed);
    if (runnable) {
      sleeping_.store(false, std::memory_order_relaxed);
      long_sleep_.store(false, std::memory_order_relaxed);
      busy = backend_->wait(&past_) > 0 || busy;
    } else {
      busy = backend_->wait(deadline == Clock::time_point::max() ? nullptr : &deadline) > 0;
      sleeping_.store(false, std::memory_order_relaxed);
      long_sleep_.store(false, std::memory_order_relaxed);
    }
  }
  close_queues();
  batch.flush();
}

// --- Seams used by public headers ---------------------------------------------------------------

void route_io(Reactor* r, IoOp* op) noexcept {
  r->route(op);
}
void submit_io(Reactor* r, IoOp* op) noexcept {
  r->submit(op);
}
void submit_io(IoOp* op) noexcept {
  current_reactor()->submit(op);
}
void cancel_io(Reactor* r, IoOp* op) noexcept {
  r->cancel(op);
}
bool io_op_stranded(Reactor* r, const IoOp* op) noexcept {
  return r->stranded(op);
}
void stop_io(Reactor* r, IoOp* op) noexcept {
  r->stop_op(op);
}
bool on_worker_of(Reactor* r) noexcept {
  return r->on_worker();
}
void run_on_worker(Reactor* r, void (*fn)(void*, bool), void* arg) noexcept {
  r->run_on_worker(fn, arg);
}
const char* reactor_backend_name(Reactor* r) noexcept {
  return r->backend_name();
}

}  // namespace executor::detail
