// executor::sync::Mutex<T>: an async mutual-exclusion lock owning the value it protects,
// FIFO-fair, with a guard that unlocks when destroyed.
//
//   executor::sync::Mutex<std::vector<int>> m;
//   {
//     auto guard = co_await m.lock();
//     guard->push_back(1);
//   }                                       // unlocked here; the next waiter is woken
//
// Design
// ------
// One atomic word holds four flags: LOCKED; QUEUED (the waiter list is non-empty; only set
// while LOCKED is); WANT (a spinning locker has priority for the next unlock); HANDOFF (the
// lock was handed to a woken waiter that has not run yet). The waiter list (intrusive FIFO,
// nodes in the awaiting frames) and every node's state are guarded by a short internal Lock
// (sync/detail/lock.hpp); QUEUED only changes under that Lock.
//
//   lock, fast path:    0 -> LOCKED (one CAS; fails if anyone is queued or spinning first)
//   lock, spin phase:   while LOCKED and nobody queued (up to 256 pauses; once on single-core
//                       ports): take WANT, then take the lock when it is released. WANT stops
//                       the holder, re-locking right after its unlock, from overtaking the
//                       spinner. No spinning while HANDOFF is set (the holder is not running).
//   lock, slow path:    under the Lock: take the lock if it is free, else set QUEUED, enqueue
//                       and suspend
//   unlock, fast path:  clear LOCKED (one CAS; fails if QUEUED)
//   unlock, slow path:  under the Lock: pop the first waiter, mark it GRANTED (the lock passes
//                       to it directly: LOCKED stays set, HANDOFF is set), clear QUEUED if the
//                       list emptied; after unlocking the Lock, wake it through the scheduler.
//                       The grantee clears HANDOFF when it resumes.
//   ~LockOperation:     WAITING: unlink (clear QUEUED if the list emptied); GRANTED but never
//                       resumed (cancel raced the grant): unlock, passing the lock on
//
// Fairness: queued waiters are served strictly in FIFO order and nobody overtakes a queued
// waiter. Spinning lockers are not queued yet; WANT gives the longest spinner the next unlock.
// With more lockers than threads, a queue that forms (a holder preempted, or holding the lock
// across a suspension) is served one task switch per lock: that is the cost of strict FIFO.
//
// Thread safety: all members from any thread. The guard may be moved to and dropped on any
// thread. Fairness: waiters acquire in the order they queued; a lock() never overtakes a queued
// waiter (try_lock() fails while anyone is queued).
// Memory ordering: unlock is a release and acquiring is an acquire, so everything written under
// the lock is visible to the next holder (directly, or through the wake of a granted waiter).
// Cancellation: destroying a coroutine suspended in lock() removes it from the queue; if the
// lock had already been handed to it, it is passed on to the next waiter (nothing is lost, no
// waiter is skipped).
// Errors: none. Destroying a Mutex that is locked or has waiters is a fatal error.
#pragma once

#include <coroutine>
#include <cstdint>
#include <optional>
#include <type_traits>
#include <utility>

#include <executor/detail/task_header.hpp>
#include <executor/sync/detail/atomic.hpp>
#include <executor/sync/detail/lock.hpp>
#include <executor/sync/detail/waiter_list.hpp>

namespace executor::sync {

template <class T = void>
class Mutex;
template <class T = void>
class MutexGuard;

namespace detail {

struct MutexWaiter : ListNode {
  enum State : unsigned char { kNew, kWaiting, kGranted };
  executor::detail::Waker waker;
  State state = kNew;
};

// The value-independent part of Mutex (the algorithm).
class MutexCore {
 public:
  static constexpr std::uint32_t kLocked = 1;
  static constexpr std::uint32_t kQueued = 2;   // only ever set together with kLocked
  static constexpr std::uint32_t kWant = 4;     // a spinner has priority for the next unlock
  static constexpr std::uint32_t kHandoff = 8;  // held by a woken waiter that has not run yet
#if defined(EXECUTOR_SINGLE_THREADED)
  static constexpr int kSpins = 1;  // one core: the holder cannot run while we spin
#else
  static constexpr int kSpins = 256;
#endif

  MutexCore() noexcept = default;
  MutexCore(const MutexCore&) = delete;
  MutexCore& operator=(const MutexCore&) = delete;
  ~MutexCore() {
    // relaxed: destroying a mutex others still use would be a race anyway.
    if ((state_.load(std::memory_order_relaxed) & (kLocked | kQueued)) != 0) {
      executor::detail::fatal("executor::sync::Mutex destroyed while locked or waited on");
    }
  }

  bool try_lock() noexcept {
    std::uint32_t expected = 0;
    // acquire: pairs with the release in unlock(); the previous holder's writes are visible.
    // Fails while a spinner holds WANT (it goes first) or anyone is queued.
    return state_.compare_exchange_strong(expected, kLocked, std::memory_order_acquire,
                                          std::memory_order_relaxed);
  }

  // Spins while the lock is held and nobody is queued; true if acquired. The first spinner
  // takes WANT so that the holder, re-locking right after its unlock, cannot overtake it.
  bool try_lock_spinning() noexcept {
    if (try_lock()) return true;
    bool wanted = false;
    for (int i = 0; i < kSpins; ++i) {
      // relaxed: the CASes below re-check (acquire where they take the lock).
      std::uint32_t s = state_.load(std::memory_order_relaxed);
      // Others are queued: fairness says queue behind them. Handed off: the holder has not
      // even started running (it may be queued behind us on this very thread): don't spin.
      if ((s & (kQueued | kHandoff)) != 0) break;
      if ((s & kLocked) == 0) {
        if (wanted || (s & kWant) == 0) {
          // acquire: as in try_lock.
          if (state_.compare_exchange_weak(s, (s | kLocked) & ~(wanted ? kWant : 0u),
                                           std::memory_order_acquire, std::memory_order_relaxed)) {
            return true;
          }
          continue;
        }
      } else if (!wanted && (s & kWant) == 0) {
        // relaxed: WANT only steers who takes the next unlock; the lock's CAS orders data.
        wanted = state_.compare_exchange_weak(s, s | kWant, std::memory_order_relaxed,
                                              std::memory_order_relaxed);
        continue;
      }
      Atomics::spin_hint();
    }
    if (wanted) state_.fetch_and(~kWant, std::memory_order_relaxed);  // relaxed: as above
    return false;
  }

  // Acquires the lock or enqueues `w` (true: suspended, wait for the grant).
  bool lock_or_enqueue(MutexWaiter* w, std::coroutine_handle<> h) noexcept {
    LockGuard g(lock_);
    // relaxed: QUEUED only changes under lock_; LOCKED is re-checked by the CASes.
    std::uint32_t s = state_.load(std::memory_order_relaxed);
    for (;;) {
      if ((s & kLocked) == 0) {
        // Free (a spinner may hold WANT; we take it anyway rather than queue on a free lock:
        // QUEUED must only be set while LOCKED is, or nobody would hand the lock over).
        // acquire: as in try_lock.
        if (state_.compare_exchange_weak(s, s | kLocked, std::memory_order_acquire,
                                         std::memory_order_relaxed)) {
          return false;
        }
        continue;
      }
      // relaxed: QUEUED tells the holder's unlock to take the slow path (under lock_, which
      // orders the list itself); the hand-over is ordered by lock_ and the wake.
      if (state_.compare_exchange_weak(s, s | kQueued, std::memory_order_relaxed,
                                       std::memory_order_relaxed)) {
        break;
      }
    }
    w->waker = executor::detail::Waker::current(h);
    w->state = MutexWaiter::kWaiting;
    waiters_.push_back(w);
    return true;
  }

  void unlock() noexcept {
    // relaxed: the CAS below re-checks.
    std::uint32_t s = state_.load(std::memory_order_relaxed);
    while ((s & kQueued) == 0) {
      // release: publishes the critical section to the next acquirer. WANT is preserved.
      if (state_.compare_exchange_weak(s, s & ~(kLocked | kHandoff), std::memory_order_release,
                                       std::memory_order_relaxed)) {
        return;
      }
    }
    unlock_slow();
  }

  // A waiter's frame is destroyed while it waits (or after the lock was granted to it).
  void cancel(MutexWaiter* w) noexcept {
    bool granted;
    {
      LockGuard g(lock_);
      granted = w->state == MutexWaiter::kGranted;
      if (w->state == MutexWaiter::kWaiting) {
        waiters_.remove(w);
        // relaxed: QUEUED is only read as a hint outside lock_.
        if (waiters_.empty()) state_.fetch_and(~kQueued, std::memory_order_relaxed);
      }
      w->state = MutexWaiter::kNew;
    }
    w->waker.drop();
    if (granted) unlock();  // the lock was ours: pass it on
  }

  // The granted waiter runs: spinning for it is useful again.
  void clear_handoff() noexcept {
    // relaxed: a spinning hint only (see kHandoff).
    state_.fetch_and(~kHandoff, std::memory_order_relaxed);
  }

  bool is_locked() const noexcept {
    return (state_.load(std::memory_order_relaxed) & kLocked) != 0;
  }

 private:
  void unlock_slow() noexcept {
    executor::detail::Waker w;
    {
      LockGuard g(lock_);
      auto* next = static_cast<MutexWaiter*>(waiters_.pop_front());
      if (next == nullptr) {
        // QUEUED was set by a waiter that has since been cancelled: plain unlock (keeping a
        // spinner's WANT). release: as in unlock().
        state_.fetch_and(~(kLocked | kQueued | kHandoff), std::memory_order_release);
        return;
      }
      // relaxed: HANDOFF is a spinning hint; the grant itself is ordered by lock_ and the wake.
      state_.fetch_or(kHandoff, std::memory_order_relaxed);
      if (waiters_.empty()) {
        // release: the granted waiter reads our writes after its wake (the wake is a release,
        // the run an acquire); this RMW only keeps the flag word consistent.
        state_.fetch_and(~kQueued, std::memory_order_release);
      }
      next->state = MutexWaiter::kGranted;  // LOCKED stays set: ownership passes directly
      w = std::move(next->waker);
    }
    w.wake();  // after unlocking lock_: the waiter resumes later on a worker
  }

  Atomic<std::uint32_t> state_{0};
  Lock lock_;
  WaiterList waiters_;
};

}  // namespace detail

// Holds the lock; unlocks on destruction (or unlock()). Move-only.
template <class T>
class [[nodiscard]] MutexGuard {
 public:
  MutexGuard() noexcept = default;
  MutexGuard(MutexGuard&& o) noexcept : m_(std::exchange(o.m_, nullptr)) {}
  MutexGuard& operator=(MutexGuard&& o) noexcept {
    if (this != &o) {
      unlock();
      m_ = std::exchange(o.m_, nullptr);
    }
    return *this;
  }
  ~MutexGuard() { unlock(); }

  explicit operator bool() const noexcept { return m_ != nullptr; }
  void unlock() noexcept {
    if (Mutex<T>* m = std::exchange(m_, nullptr)) m->core_.unlock();
  }

  template <class U = T>
  requires(!std::is_void_v<U>) U& operator*() const noexcept { return m_->value_; }
  template <class U = T>
  requires(!std::is_void_v<U>) U* operator->() const noexcept { return &m_->value_; }

 private:
  friend class Mutex<T>;
  explicit MutexGuard(Mutex<T>* m) noexcept : m_(m) {}
  Mutex<T>* m_ = nullptr;
};

namespace detail {
struct MutexUnit {};
}  // namespace detail

template <class T>
class Mutex {
  using Value = std::conditional_t<std::is_void_v<T>, detail::MutexUnit, T>;

 public:
  Mutex() = default;
  template <class... Args>
  explicit Mutex(std::in_place_t, Args&&... args) : value_(std::forward<Args>(args)...) {}
  template <class U>
  requires(!std::is_void_v<T> && std::is_constructible_v<Value, U&&> &&
           !std::is_same_v<std::decay_t<U>, Mutex>) explicit Mutex(U&& value)
      : value_(std::forward<U>(value)) {}
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  // The awaiter of lock(). Non-movable once awaited; lives in the awaiting frame.
  class LockOperation : private detail::MutexWaiter {
   public:
    explicit LockOperation(Mutex* m) noexcept : m_(m) {}
    // Movable until awaited, so executor::timeout, when_any and run_until_cancelled can move it
    // into their child task; once suspended it never moves (it lives in the awaiting frame).
    LockOperation(LockOperation&& o) noexcept : detail::MutexWaiter(), m_(o.m_) {}
    LockOperation(const LockOperation&) = delete;
    LockOperation& operator=(const LockOperation&) = delete;
    ~LockOperation() {
      if (suspended_) m_->core_.cancel(this);
    }
    bool await_ready() noexcept { return m_->core_.try_lock_spinning(); }
    bool await_suspend(std::coroutine_handle<> h) noexcept {
      suspended_ = m_->core_.lock_or_enqueue(this, h);
      return suspended_;
    }
    // The state was set to GRANTED under the internal lock before the wake; the wake/run
    // pair orders it before this read.
    MutexGuard<T> await_resume() noexcept {
      if (suspended_) {
        suspended_ = false;
        if (state != kGranted) executor::detail::fatal("Mutex: resumed without the lock");
        state = kNew;
        m_->core_.clear_handoff();
      }
      return MutexGuard<T>(m_);
    }

   private:
    Mutex* m_;
    bool suspended_ = false;
  };

  // Waits for the lock (FIFO) and returns its guard.
  [[nodiscard]] LockOperation lock() noexcept { return LockOperation(this); }
  // The guard if the lock is free and nobody is queued; empty otherwise.
  std::optional<MutexGuard<T>> try_lock() noexcept {
    if (!core_.try_lock()) return std::nullopt;
    return MutexGuard<T>(this);
  }
  bool is_locked() const noexcept { return core_.is_locked(); }

  // Direct access when no other task can use the mutex (setup, teardown).
  template <class U = T>
  requires(!std::is_void_v<U>) U& get_unsynchronized() noexcept { return value_; }

 private:
  friend class MutexGuard<T>;
  detail::MutexCore core_;
  [[no_unique_address]] Value value_{};
};

}  // namespace executor::sync
