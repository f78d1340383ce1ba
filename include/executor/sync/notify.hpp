// executor::sync::Notify: wakes tasks without carrying data (tokio's Notify), with no lost
// wake-ups.
//
//   executor::sync::Notify ready;
//   co_await ready.notified();     // waiter
//   ready.notify_one();            // any thread: wakes one waiter, or leaves a permit
//
// Semantics:
//  * notify_one() wakes the longest-waiting task; if none waits, it stores one permit (at most
//    one; more notify_one() calls do not accumulate) which the next notified() consumes at once.
//    So a notify_one() that races ahead of the waiter's notified() is never lost.
//  * notify_all() wakes every task waiting at the time of the call and stores no permit.
//
// Design: an intrusive FIFO list of waiters (nodes in the awaiting frames) and the permit flag
// under one short Lock. Each waiter records the notify_all generation it queued in;
// notify_all() bumps the generation and wakes, in batches of 16 with the Lock released in
// between, the waiters queued before the bump (a prefix of the FIFO list), so tasks that start
// waiting meanwhile are not woken by it. Wakers are woken after unlocking.
//
// Thread safety: all members from any thread (and interrupt handlers on single-core ports).
// Memory ordering: what the notifier wrote before notify_*() is visible to a task woken by it.
// Cancellation: destroying a coroutine suspended in notified() unlinks it. If notify_one() had
// already picked it but it never resumed, the notification is passed on to the next waiter (or
// stored as the permit): a notify_one() is never swallowed by a cancelled waiter.
// Errors: none. Destroying a Notify with waiters is a fatal error.
#pragma once

#include <coroutine>
#include <cstdint>
#include <utility>

#include <executor/detail/task_header.hpp>
#include <executor/sync/detail/lock.hpp>
#include <executor/sync/detail/waiter_list.hpp>
#include <executor/sync/detail/wake_batch.hpp>

namespace executor::sync {

class Notify {
  struct Waiter : detail::ListNode {
    enum State : unsigned char { kNew, kWaiting, kNotifiedOne, kNotifiedAll };
    executor::detail::Waker waker;
    std::uint32_t generation = 0;
    State state = kNew;
  };

 public:
  Notify() noexcept = default;
  Notify(const Notify&) = delete;
  Notify& operator=(const Notify&) = delete;
  ~Notify() {
    if (!waiters_.empty()) executor::detail::fatal("executor::sync::Notify destroyed with waiters");
  }

  // The awaiter of notified(). Non-movable once awaited; lives in the awaiting frame.
  class NotifiedOperation : private Waiter {
   public:
    explicit NotifiedOperation(Notify* n) noexcept : n_(n) {}
    // Movable until awaited, so executor::timeout, when_any and run_until_cancelled can move it
    // into their child task; once suspended it never moves (it lives in the awaiting frame).
    NotifiedOperation(NotifiedOperation&& o) noexcept : Waiter(), n_(o.n_) {}
    NotifiedOperation(const NotifiedOperation&) = delete;
    NotifiedOperation& operator=(const NotifiedOperation&) = delete;
    ~NotifiedOperation() {
      if (suspended_) n_->cancel(this);
    }
    bool await_ready() const noexcept { return false; }
    bool await_suspend(std::coroutine_handle<> h) noexcept {
      detail::LockGuard g(n_->lock_);
      if (n_->permit_) {
        n_->permit_ = false;
        return false;
      }
      this->waker = executor::detail::Waker::current(h);
      this->generation = n_->generation_;
      this->state = kWaiting;
      n_->waiters_.push_back(this);
      suspended_ = true;
      return true;
    }
    void await_resume() noexcept { suspended_ = false; }

   private:
    Notify* n_;
    bool suspended_ = false;
  };

  // Waits for a notification (or consumes the stored permit).
  [[nodiscard]] NotifiedOperation notified() noexcept { return NotifiedOperation(this); }

  void notify_one() noexcept {
    executor::detail::Waker w;
    {
      detail::LockGuard g(lock_);
      w = pick_one_locked();
    }
    w.wake();
  }

  void notify_all() noexcept {
    detail::WakeBatch batch;
    std::uint32_t target;
    {
      detail::LockGuard g(lock_);
      target = ++generation_;
    }
    for (bool more = true; more;) {
      {
        detail::LockGuard g(lock_);
        more = false;
        while (!waiters_.empty()) {
          auto* w = static_cast<Waiter*>(waiters_.front());
          // Waiters are in queue order, so generations ascend: stop at the first newcomer.
          if (static_cast<std::int32_t>(w->generation - target) >= 0) break;
          if (batch.full()) {
            more = true;
            break;
          }
          waiters_.pop_front();
          w->state = Waiter::kNotifiedAll;
          batch.add(std::move(w->waker));
        }
      }
      batch.wake_all();
    }
  }

 private:
  // Caller holds lock_. Picks the first waiter, or stores the permit.
  executor::detail::Waker pick_one_locked() noexcept {
    if (waiters_.empty()) {
      permit_ = true;
      return {};
    }
    auto* w = static_cast<Waiter*>(waiters_.pop_front());
    w->state = Waiter::kNotifiedOne;
    return std::move(w->waker);
  }

  void cancel(Waiter* w) noexcept {
    executor::detail::Waker forward;
    {
      detail::LockGuard g(lock_);
      if (w->state == Waiter::kWaiting) {
        waiters_.remove(w);
      } else if (w->state == Waiter::kNotifiedOne) {
        forward = pick_one_locked();  // the notification was ours: pass it on
      }
      w->state = Waiter::kNew;
    }
    w->waker.drop();
    forward.wake();
  }

  detail::Lock lock_;
  detail::WaiterList waiters_;
  std::uint32_t generation_ = 0;
  bool permit_ = false;
};

}  // namespace executor::sync
