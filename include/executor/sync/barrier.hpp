// executor::sync::Barrier: n tasks wait until all n have arrived, then all continue; reusable
// (each time n tasks arrive a new generation starts). One of each generation is the leader.
//
//   executor::sync::Barrier phase(3);
//   auto r = co_await phase.wait();     // in each of the 3 tasks
//   if (r.is_leader()) merge_results();
//
// Design: under one short Lock, the arrival count of the current generation and an intrusive
// FIFO list of the waiting tasks (nodes in their frames). The n-th arrival starts the next
// generation, does not suspend (it is the leader) and wakes the waiters of the finished
// generation after unlocking, in batches of 16.
//
// Thread safety: all members from any thread.
// Memory ordering: what every task wrote before its wait() is visible to all n tasks after it.
// Cancellation: destroying a coroutine suspended in wait() withdraws its arrival (the barrier
// then waits for one more task), unless its generation had already completed (then nothing
// changes: the others were released).
// Errors: Barrier(0) behaves like Barrier(1). Destroying a Barrier with waiters is fatal.
#pragma once

#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <utility>

#include <executor/detail/task_header.hpp>
#include <executor/sync/detail/lock.hpp>
#include <executor/sync/detail/waiter_list.hpp>
#include <executor/sync/detail/wake_batch.hpp>

namespace executor::sync {

class BarrierWaitResult {
 public:
  explicit BarrierWaitResult(bool leader) noexcept : leader_(leader) {}
  // True for exactly one task of each generation (the last to arrive).
  bool is_leader() const noexcept { return leader_; }

 private:
  bool leader_;
};

class Barrier {
  struct Waiter : detail::ListNode {
    executor::detail::Waker waker;
    std::uint32_t generation = 0;
    bool waiting = false;
  };

 public:
  explicit Barrier(std::size_t n) noexcept : n_(n == 0 ? 1 : n) {}
  Barrier(const Barrier&) = delete;
  Barrier& operator=(const Barrier&) = delete;
  ~Barrier() {
    if (!waiters_.empty())
      executor::detail::fatal("executor::sync::Barrier destroyed with waiters");
  }

  // The awaiter of wait(). Non-movable once awaited; lives in the awaiting frame.
  class WaitOperation : private Waiter {
   public:
    explicit WaitOperation(Barrier* b) noexcept : b_(b) {}
    WaitOperation(const WaitOperation&) = delete;
    WaitOperation& operator=(const WaitOperation&) = delete;
    ~WaitOperation() {
      if (!suspended_) return;
      {
        detail::LockGuard g(b_->lock_);
        if (this->waiting) {
          b_->waiters_.remove(this);
          // Withdraw the arrival only if its generation is still open; if the leader already
          // completed it (and is about to release us), the count belongs to the next one.
          if (this->generation == b_->generation_) --b_->arrived_;
          this->waiting = false;
        }
      }
      this->waker.drop();
    }
    bool await_ready() const noexcept { return false; }
    bool await_suspend(std::coroutine_handle<> h) noexcept {
      {
        detail::LockGuard g(b_->lock_);
        if (++b_->arrived_ < b_->n_) {
          this->waker = executor::detail::Waker::current(h);
          this->generation = b_->generation_;
          this->waiting = true;
          b_->waiters_.push_back(this);
          suspended_ = true;
          return true;
        }
        b_->arrived_ = 0;
        ++b_->generation_;
        leader_ = true;
      }
      // Leader: release the finished generation (all queued waiters belong to it: the next
      // generation's arrivals queue behind them and have a newer generation number).
      b_->release_generation(b_->generation_);
      return false;
    }
    BarrierWaitResult await_resume() noexcept {
      suspended_ = false;
      return BarrierWaitResult(leader_);
    }

   private:
    Barrier* b_;
    bool suspended_ = false;
    bool leader_ = false;
  };

  [[nodiscard]] WaitOperation wait() noexcept { return WaitOperation(this); }

 private:
  void release_generation(std::uint32_t next) noexcept {
    detail::WakeBatch batch;
    for (bool more = true; more;) {
      {
        detail::LockGuard g(lock_);
        more = false;
        while (!waiters_.empty()) {
          auto* w = static_cast<Waiter*>(waiters_.front());
          if (static_cast<std::int32_t>(w->generation - next) >= 0) break;
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

  detail::Lock lock_;
  detail::WaiterList waiters_;
  std::size_t n_;
  std::size_t arrived_ = 0;
  std::uint32_t generation_ = 0;
};

}  // namespace executor::sync
