// executor::sync::Event: a manual-reset event. wait() completes once the event is set; set()
// wakes every waiter and the event stays set until reset().
//
//   executor::sync::Event started;
//   co_await started.wait();       // tasks
//   started.set();                 // any thread
//
// Design: a flag word (atomic, so wait() on a set event costs one acquire load) plus an
// intrusive FIFO list of waiters under one short Lock. set() raises the flag and bumps a
// generation under the Lock, then wakes the waiters queued before the bump in batches of 16,
// waking after each unlock. A waiter queues only if the flag is clear under the Lock, so no
// set() can be missed; a reset() during set()'s batches does not strand the waiters set() saw.
//
// Thread safety: all members from any thread (and interrupt handlers on single-core ports).
// Memory ordering: what the setter wrote before set() is visible to every task whose wait()
// completes because of it (release in set, acquire in wait / through the wake).
// Cancellation: destroying a coroutine suspended in wait() unlinks it; nothing else changes.
// Errors: none. Destroying an Event with waiters is a fatal error.
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

class Event {
  struct Waiter : detail::ListNode {
    executor::detail::Waker waker;
    std::uint32_t generation = 0;
    bool waiting = false;
  };

 public:
  explicit Event(bool initially_set = false) noexcept : set_(initially_set ? 1u : 0u) {}
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;
  ~Event() {
    if (!waiters_.empty()) executor::detail::fatal("executor::sync::Event destroyed with waiters");
  }

  // The awaiter of wait(). Non-movable once awaited; lives in the awaiting frame.
  class WaitOperation : private Waiter {
   public:
    explicit WaitOperation(Event* e) noexcept : e_(e) {}
    WaitOperation(const WaitOperation&) = delete;
    WaitOperation& operator=(const WaitOperation&) = delete;
    ~WaitOperation() {
      if (!suspended_) return;
      {
        detail::LockGuard g(e_->lock_);
        if (this->waiting) {
          e_->waiters_.remove(this);
          this->waiting = false;
        }
      }
      this->waker.drop();
    }
    // acquire: pairs with the release in set(); the setter's writes are visible.
    bool await_ready() const noexcept { return e_->set_.load(std::memory_order_acquire) != 0; }
    bool await_suspend(std::coroutine_handle<> h) noexcept {
      detail::LockGuard g(e_->lock_);
      // relaxed: set_ only changes under lock_, which we hold.
      if (e_->set_.load(std::memory_order_relaxed) != 0) return false;
      this->waker = executor::detail::Waker::current(h);
      this->generation = e_->generation_;
      this->waiting = true;
      e_->waiters_.push_back(this);
      suspended_ = true;
      return true;
    }
    void await_resume() noexcept { suspended_ = false; }

   private:
    Event* e_;
    bool suspended_ = false;
  };

  [[nodiscard]] WaitOperation wait() noexcept { return WaitOperation(this); }

  // Sets the event and wakes every waiter. Idempotent.
  void set() noexcept {
    std::uint32_t target;
    {
      detail::LockGuard g(lock_);
      // release: pairs with the acquire in await_ready.
      set_.store(1, std::memory_order_release);
      target = ++generation_;
    }
    detail::WakeBatch batch;
    for (bool more = true; more;) {
      {
        detail::LockGuard g(lock_);
        more = false;
        while (!waiters_.empty()) {
          auto* w = static_cast<Waiter*>(waiters_.front());
          if (static_cast<std::int32_t>(w->generation - target) >= 0) break;  // queued later
          if (batch.full()) {
            more = true;
            break;
          }
          waiters_.pop_front();
          w->waiting = false;
          batch.add(std::move(w->waker));
        }
      }
      batch.wake_all();
    }
  }
  // Clears the event; later wait()s suspend until the next set().
  void reset() noexcept {
    detail::LockGuard g(lock_);
    set_.store(0, std::memory_order_relaxed);  // relaxed: ordered by lock_ for waiters
  }
  bool is_set() const noexcept { return set_.load(std::memory_order_acquire) != 0; }

 private:
  detail::Atomic<std::uint32_t> set_;
  detail::Lock lock_;
  detail::WaiterList waiters_;
  std::uint32_t generation_ = 0;
};

}  // namespace executor::sync
