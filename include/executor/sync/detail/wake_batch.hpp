// A bounded batch of wakers collected under a primitive's lock and woken after it is released.
// Fixed capacity (no allocation): a primitive that must wake more waiters than fit (notify_all,
// close) repeats "lock, move up to kCapacity wakers out, unlock, wake" until none are left.
// Once a waker is moved out of a node under the lock, the node is never touched again, so its
// frame may be destroyed as soon as the lock is released.
#pragma once

#include <cstddef>
#include <utility>

#include <executor/detail/task_header.hpp>

namespace executor::sync::detail {

class WakeBatch {
 public:
  static constexpr std::size_t kCapacity = 16;

  WakeBatch() noexcept = default;
  WakeBatch(const WakeBatch&) = delete;
  WakeBatch& operator=(const WakeBatch&) = delete;
  ~WakeBatch() { wake_all(); }

  bool full() const noexcept { return n_ == kCapacity; }
  bool empty() const noexcept { return n_ == 0; }
  void add(executor::detail::Waker&& w) noexcept { wakers_[n_++] = std::move(w); }
  // Wakes (through the scheduler) and clears. Call with no lock held.
  void wake_all() noexcept {
    for (std::size_t i = 0; i < n_; ++i) wakers_[i].wake();
    n_ = 0;
  }

 private:
  executor::detail::Waker wakers_[kCapacity];
  std::size_t n_ = 0;
};

}  // namespace executor::sync::detail
