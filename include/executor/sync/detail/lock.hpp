// The lock facade of executor::sync: every internal lock of a sync primitive is a `Lock`.
//
// A Lock guards a few pointer updates (linking or unlinking an intrusive waiter, moving a
// waker out); nothing that can block, allocate, wake or run user code happens while it is held.
// Wakers collected under the lock are woken after `unlock()` (see each primitive).
//
//  * Linux (default): a test-and-test-and-set spinlock on one 32-bit atomic word, with a CPU
//    pause in the spin and an OS yield after a short bounded spin, so a preempted holder does
//    not cost a whole time slice. Memory ordering: lock() is acquire, unlock() is release, so
//    everything written under the lock is visible to the next holder.
//  * EXECUTOR_SINGLE_THREADED (Cortex-M and other single-core ports): a critical section. The
//    port provides the two functions declared below. Contract for implementers:
//      - `critical_section_enter()` masks every interrupt whose handler may touch a sync
//        primitive or call `Waker::wake` (on Cortex-M: `mrs r0, primask; cpsid i`) and returns
//        the previous mask state (the PRIMASK value);
//      - `critical_section_exit(saved)` restores exactly that state (`msr primask, r0`), so
//        critical sections nest (an inner exit does not unmask);
//      - both are compiler barriers (an asm with a "memory" clobber), callable from thread and
//        handler mode, never allocate, never block, never fail.
//    The lock keeps the saved state itself, so one Lock is never entered twice at once (the
//    primitives never nest the same lock).
//
// Thread safety: lock/unlock from any thread (any context on single-core ports). Not
// recursive. Not fair (fairness of the primitives comes from their FIFO waiter lists).
#pragma once

#include <cstdint>

#include <executor/export.hpp>
#include <executor/sync/detail/atomic.hpp>
#if !defined(EXECUTOR_SINGLE_THREADED)
#include <sched.h>
#endif

namespace executor::detail {
#if defined(EXECUTOR_SINGLE_THREADED)
// Provided by the single-core runtime (see the contract above).
EXECUTOR_API std::uint32_t critical_section_enter() noexcept;
EXECUTOR_API void critical_section_exit(std::uint32_t saved) noexcept;
#endif
}  // namespace executor::detail

namespace executor::sync::detail {

#if defined(EXECUTOR_SINGLE_THREADED)

class Lock {
 public:
  constexpr Lock() noexcept = default;
  Lock(const Lock&) = delete;
  Lock& operator=(const Lock&) = delete;

  void lock() noexcept { saved_ = executor::detail::critical_section_enter(); }
  void unlock() noexcept { executor::detail::critical_section_exit(saved_); }

 private:
  std::uint32_t saved_ = 0;
};

#else

class Lock {
 public:
  constexpr Lock() noexcept = default;
  Lock(const Lock&) = delete;
  Lock& operator=(const Lock&) = delete;

  void lock() noexcept {
    // acquire: pairs with the release in unlock(); the previous holder's writes are visible.
    if (word_.exchange(1, std::memory_order_acquire) == 0) return;
    lock_slow();
  }
  bool try_lock() noexcept {
    // relaxed load first: do not take the cache line exclusively when it is visibly held.
    return word_.load(std::memory_order_relaxed) == 0 &&
           word_.exchange(1, std::memory_order_acquire) == 0;  // acquire: as in lock()
  }
  void unlock() noexcept {
    // release: publishes the critical section to the next acquirer.
    word_.store(0, std::memory_order_release);
  }

 private:
  void lock_slow() noexcept {
    unsigned spins = 0;
    for (;;) {
      // relaxed: only a hint; the exchange below re-checks with acquire.
      while (word_.load(std::memory_order_relaxed) != 0) {
        if (++spins < 64) {
          Atomics::spin_hint();
        } else {
          sched_yield();  // the holder may have been preempted: give it the core
          spins = 0;
        }
      }
      if (word_.exchange(1, std::memory_order_acquire) == 0) return;  // acquire: as in lock()
    }
  }
  Atomic<std::uint32_t> word_{0};
};

#endif

// Scoped lock (the primitives unlock explicitly before waking; this is for the simple paths).
class LockGuard {
 public:
  explicit LockGuard(Lock& l) noexcept : l_(&l) { l_->lock(); }
  LockGuard(const LockGuard&) = delete;
  LockGuard& operator=(const LockGuard&) = delete;
  ~LockGuard() {
    if (l_ != nullptr) l_->unlock();
  }
  // Releases early; the destructor then does nothing.
  void unlock() noexcept {
    l_->unlock();
    l_ = nullptr;
  }

 private:
  Lock* l_;
};

}  // namespace executor::sync::detail
