// executor::sync::Semaphore: an async counting semaphore, FIFO-fair, whose permits are returned
// by a guard.
//
//   executor::sync::Semaphore slots(4);
//   auto permit = co_await slots.acquire();      // or acquire(n)
//   ...                                          // permit returned when it is destroyed
//
// Design
// ------
// One atomic word: (available permits << 1) | QUEUED. The waiter list (intrusive FIFO, nodes in
// the awaiting frames, each with the number of permits it needs) is guarded by a short internal
// Lock; QUEUED is set exactly while the list is non-empty and only changes under that Lock, so
// while it is set nobody but the Lock's holder changes the word.
//
//   try_acquire / fast acquire:  CAS permits -= n, only if !QUEUED and enough (no barging)
//   release, fast path:          CAS permits += n, only if !QUEUED
//   release, slow path:          under the Lock: add n, then grant waiters from the front while
//                                the first one's need fits (a waiter needing more blocks those
//                                behind it: FIFO), clearing QUEUED when the list empties; wake
//                                the granted waiters after unlocking (batches of 16)
//   ~AcquireOperation:           WAITING: unlink, and re-run the grants (the removed waiter
//                                may have been blocking the ones behind it); GRANTED but never
//                                resumed (cancel raced the grant): release its permits again
//
// The algorithm (non-template) is in sync/semaphore.cpp. RwLock is built on it.
//
// Thread safety: all members from any thread; a permit may be moved to and dropped on any thread.
// Memory ordering: releasing permits is a release and acquiring them an acquire: what a task
// wrote before releasing is visible to the task that obtains those permits.
// Cancellation: destroying a coroutine suspended in acquire() removes it from the queue; permits
// already granted to it go back to the semaphore. Nothing is lost.
// Errors: acquire(n)/try_acquire(n)/release(n) with n > Semaphore::kMaxPermits, or a release that
// would push the count past kMaxPermits, are programming errors: executor::detail::fatal.
#pragma once

#include <coroutine>
#include <cstdint>
#include <optional>
#include <utility>

#include <executor/detail/task_header.hpp>
#include <executor/export.hpp>
#include <executor/sync/detail/atomic.hpp>
#include <executor/sync/detail/lock.hpp>
#include <executor/sync/detail/waiter_list.hpp>

namespace executor::sync {

namespace detail {

struct SemaphoreWaiter : ListNode {
  enum State : unsigned char { kNew, kWaiting, kGranted };
  executor::detail::Waker waker;
  std::uint32_t needed = 0;
  State state = kNew;
};

class EXECUTOR_API SemaphoreCore {
 public:
  static constexpr std::uint32_t kQueued = 1;
  static constexpr std::uint32_t kMaxPermits = (std::uint32_t{1} << 30) - 1;

  explicit SemaphoreCore(std::uint32_t permits) noexcept : state_(checked(permits) << 1) {}
  SemaphoreCore(const SemaphoreCore&) = delete;
  SemaphoreCore& operator=(const SemaphoreCore&) = delete;
  ~SemaphoreCore();

  bool try_acquire(std::uint32_t n) noexcept {
    checked(n);
    // relaxed: the CAS below re-checks with acquire.
    std::uint32_t s = state_.load(std::memory_order_relaxed);
    for (;;) {
      if ((s & kQueued) != 0 || (s >> 1) < n) return false;
      // acquire: pairs with the release of whoever released these permits.
      if (state_.compare_exchange_weak(s, s - (n << 1), std::memory_order_acquire,
                                       std::memory_order_relaxed)) {
        return true;
      }
    }
  }
  void release(std::uint32_t n) noexcept {
    if (n == 0) return;
    checked(n);
    // relaxed: the CAS below re-checks.
    std::uint32_t s = state_.load(std::memory_order_relaxed);
    while ((s & kQueued) == 0 && (s >> 1) + n <= kMaxPermits) {
      // release: publishes our writes to the next acquirer of these permits.
      if (state_.compare_exchange_weak(s, s + (n << 1), std::memory_order_release,
                                       std::memory_order_relaxed)) {
        return;
      }
    }
    release_slow(n);
  }
  // Acquires `n` or enqueues `w` (true: suspended until granted). Out of line.
  bool acquire_or_enqueue(SemaphoreWaiter* w, std::uint32_t n, std::coroutine_handle<> h) noexcept;
  // The waiter's frame is destroyed. Out of line.
  void cancel(SemaphoreWaiter* w) noexcept;

  std::uint32_t available() const noexcept { return state_.load(std::memory_order_relaxed) >> 1; }

  static std::uint32_t checked(std::uint32_t n) noexcept {
    if (n > kMaxPermits) executor::detail::fatal("executor::sync::Semaphore: too many permits");
    return n;
  }

 private:
  void release_slow(std::uint32_t n) noexcept;

  Atomic<std::uint32_t> state_;
  Lock lock_;
  WaiterList waiters_;
};

}  // namespace detail

class Semaphore;
template <class T>
class RwLock;

// Permits held; returned to the semaphore on destruction. Move-only.
class [[nodiscard]] SemaphorePermit {
 public:
  SemaphorePermit() noexcept = default;
  SemaphorePermit(SemaphorePermit&& o) noexcept
      : s_(std::exchange(o.s_, nullptr)), n_(std::exchange(o.n_, 0)) {}
  SemaphorePermit& operator=(SemaphorePermit&& o) noexcept {
    if (this != &o) {
      release();
      s_ = std::exchange(o.s_, nullptr);
      n_ = std::exchange(o.n_, 0);
    }
    return *this;
  }
  ~SemaphorePermit() { release(); }

  std::uint32_t count() const noexcept { return n_; }
  // Returns the permits now.
  void release() noexcept {
    if (detail::SemaphoreCore* s = std::exchange(s_, nullptr)) s->release(std::exchange(n_, 0));
  }
  // Keeps the permits out of the semaphore for good.
  void forget() noexcept {
    s_ = nullptr;
    n_ = 0;
  }

 private:
  friend class Semaphore;
  friend class AcquireOperation;
  template <class>
  friend class RwLock;
  SemaphorePermit(detail::SemaphoreCore* s, std::uint32_t n) noexcept : s_(s), n_(n) {}
  detail::SemaphoreCore* s_ = nullptr;
  std::uint32_t n_ = 0;
};

// The awaiter of Semaphore::acquire(). Non-movable once awaited; lives in the awaiting frame.
class AcquireOperation : private detail::SemaphoreWaiter {
 public:
  AcquireOperation(detail::SemaphoreCore* s, std::uint32_t n) noexcept : s_(s), n_(n) {}
  // Movable until awaited, so executor::timeout, when_any and run_until_cancelled can move it
  // into their child task; once suspended it never moves (it lives in the awaiting frame).
  AcquireOperation(AcquireOperation&& o) noexcept : detail::SemaphoreWaiter(), s_(o.s_), n_(o.n_) {}
  AcquireOperation(const AcquireOperation&) = delete;
  AcquireOperation& operator=(const AcquireOperation&) = delete;
  ~AcquireOperation() {
    if (suspended_) s_->cancel(this);
  }
  bool await_ready() noexcept { return n_ == 0 || s_->try_acquire(n_); }
  bool await_suspend(std::coroutine_handle<> h) noexcept {
    suspended_ = s_->acquire_or_enqueue(this, n_, h);
    return suspended_;
  }
  // GRANTED was written under the semaphore's lock before the wake; the wake/run pair orders it.
  SemaphorePermit await_resume() noexcept {
    if (suspended_) {
      suspended_ = false;
      if (state != kGranted) executor::detail::fatal("Semaphore: resumed without permits");
      state = kNew;
    }
    return SemaphorePermit(s_, n_);
  }

 private:
  detail::SemaphoreCore* s_;
  std::uint32_t n_;
  bool suspended_ = false;
};

class Semaphore {
 public:
  static constexpr std::uint32_t kMaxPermits = detail::SemaphoreCore::kMaxPermits;

  explicit Semaphore(std::uint32_t permits) noexcept : core_(permits) {}

  // Waits (FIFO) until `n` permits can be taken at once.
  [[nodiscard]] AcquireOperation acquire(std::uint32_t n = 1) noexcept {
    detail::SemaphoreCore::checked(n);
    return AcquireOperation(&core_, n);
  }
  // `n` permits if they are available and nobody is queued; empty otherwise.
  std::optional<SemaphorePermit> try_acquire(std::uint32_t n = 1) noexcept {
    if (!core_.try_acquire(n)) return std::nullopt;
    return SemaphorePermit(&core_, n);
  }
  // Adds `n` permits (e.g. to grow the pool); wakes the waiters they satisfy.
  void add_permits(std::uint32_t n) noexcept { core_.release(n); }
  std::uint32_t available_permits() const noexcept { return core_.available(); }

 private:
  detail::SemaphoreCore core_;
};

}  // namespace executor::sync
