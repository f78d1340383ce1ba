// executor::sync::Latch: a single-use countdown. wait() completes once the count reaches zero.
//
//   executor::sync::Latch done(3);
//   done.count_down();            // in each of 3 workers (any thread)
//   co_await done.wait();         // completes after the third count_down
//
// Design: the count (atomic, so wait() on an open latch is one acquire load) and an intrusive
// FIFO list of waiters under one short Lock. The count_down() that reaches zero wakes every
// waiter after unlocking, in batches of 16; later waits complete at once.
//
// Thread safety: all members from any thread (and interrupt handlers on single-core ports).
// Memory ordering: what each counting-down thread wrote before count_down() is visible to every
// task whose wait() completes.
// Cancellation: destroying a coroutine suspended in wait() unlinks it. (An arrive_and_wait()
// counts down before waiting; destroying it does not undo the count, as with std::latch.)
// Errors: counting down past zero is clamped to zero (count_down returns whether this call
// opened the latch). Destroying a Latch with waiters is a fatal error.
#pragma once

#include <coroutine>
#include <cstdint>
#include <utility>

#include <executor/detail/task_header.hpp>
#include <executor/sync/detail/atomic.hpp>
#include <executor/sync/detail/lock.hpp>
#include <executor/sync/detail/waiter_list.hpp>
#include <executor/sync/detail/wake_batch.hpp>

namespace executor::sync {

class Latch {
  struct Waiter : detail::ListNode {
    executor::detail::Waker waker;
    bool waiting = false;
  };

 public:
  explicit Latch(std::uint32_t count) noexcept : count_(count) {}
  Latch(const Latch&) = delete;
  Latch& operator=(const Latch&) = delete;
  ~Latch() {
    if (!waiters_.empty()) executor::detail::fatal("executor::sync::Latch destroyed with waiters");
  }

  // Decrements the count by n (clamped at zero); true if this call brought it to zero.
  bool count_down(std::uint32_t n = 1) noexcept {
    {
      detail::LockGuard g(lock_);
      // relaxed load: count_ only changes under lock_.
      std::uint32_t c = count_.load(std::memory_order_relaxed);
      if (c == 0 || n == 0) return false;
      std::uint32_t next = n >= c ? 0 : c - n;
      // release: pairs with the acquire in await_ready (and the wake orders it for waiters).
      count_.store(next, std::memory_order_release);
      if (next != 0) return false;
    }
    detail::WakeBatch batch;
    for (bool more = true; more;) {
      {
        detail::LockGuard g(lock_);
        more = false;
        while (!waiters_.empty()) {
          if (batch.full()) {
            more = true;
            break;
          }
          auto* w = static_cast<Waiter*>(waiters_.pop_front());
          w->waiting = false;
          batch.add(std::move(w->waker));
        }
      }
      batch.wake_all();
    }
    return true;
  }

  // The awaiter of wait(). Non-movable once awaited; lives in the awaiting frame.
  class WaitOperation : private Waiter {
   public:
    explicit WaitOperation(Latch* l) noexcept : l_(l) {}
    WaitOperation(const WaitOperation&) = delete;
    WaitOperation& operator=(const WaitOperation&) = delete;
    ~WaitOperation() {
      if (!suspended_) return;
      {
        detail::LockGuard g(l_->lock_);
        if (this->waiting) {
          l_->waiters_.remove(this);
          this->waiting = false;
        }
      }
      this->waker.drop();
    }
    // acquire: pairs with the release in count_down.
    bool await_ready() const noexcept { return l_->count_.load(std::memory_order_acquire) == 0; }
    bool await_suspend(std::coroutine_handle<> h) noexcept {
      detail::LockGuard g(l_->lock_);
      // relaxed: count_ only changes under lock_, which we hold.
      if (l_->count_.load(std::memory_order_relaxed) == 0) return false;
      this->waker = executor::detail::Waker::current(h);
      this->waiting = true;
      l_->waiters_.push_back(this);
      suspended_ = true;
      return true;
    }
    void await_resume() noexcept { suspended_ = false; }

   private:
    Latch* l_;
    bool suspended_ = false;
  };

  [[nodiscard]] WaitOperation wait() noexcept { return WaitOperation(this); }
  // count_down(n), then wait().
  [[nodiscard]] WaitOperation arrive_and_wait(std::uint32_t n = 1) noexcept {
    (void)count_down(n);
    return WaitOperation(this);
  }
  bool try_wait() const noexcept { return count_.load(std::memory_order_acquire) == 0; }

 private:
  detail::Atomic<std::uint32_t> count_;
  detail::Lock lock_;
  detail::WaiterList waiters_;
};

}  // namespace executor::sync
