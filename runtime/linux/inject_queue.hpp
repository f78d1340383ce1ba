// The global injection queue: tasks scheduled from outside a worker (the completion thread,
// foreign threads) and local-queue overflow. An intrusive FIFO (TaskHeader::queue_next) under a
// mutex; `size()` is a lock-free hint so idle checks don't take the lock.
#pragma once

#include <atomic>
#include <cstddef>
#include <mutex>

#include <executor/detail/task_header.hpp>

namespace executor::detail {

class InjectQueue {
 public:
  void push(TaskHeader* t) noexcept {
    t->queue_next = nullptr;
    push_batch(t, t, 1);
  }

  // Appends the chain first..last (linked by queue_next, last->queue_next == nullptr).
  void push_batch(TaskHeader* first, TaskHeader* last, std::size_t n) noexcept {
    std::lock_guard lock(mu_);
    if (tail_ != nullptr) {
      tail_->queue_next = first;
    } else {
      head_ = first;
    }
    tail_ = last;
    // release: not needed for the tasks (the mutex orders them); the count is only a hint.
    size_.store(size_.load(std::memory_order_relaxed) + n, std::memory_order_seq_cst);
  }

  // Pops up to `max` tasks as a chain; returns the first (nullptr if empty) and sets `n`.
  TaskHeader* pop_batch(std::size_t max, std::size_t& n) noexcept {
    n = 0;
    if (size_.load(std::memory_order_relaxed) == 0) return nullptr;
    std::lock_guard lock(mu_);
    TaskHeader* first = head_;
    TaskHeader* last = nullptr;
    while (head_ != nullptr && n < max) {
      last = head_;
      head_ = head_->queue_next;
      ++n;
    }
    if (last != nullptr) last->queue_next = nullptr;
    if (head_ == nullptr) tail_ = nullptr;
    size_.store(size_.load(std::memory_order_relaxed) - n, std::memory_order_relaxed);
    return n == 0 ? nullptr : first;
  }

  // seq_cst: the parking protocol reads this after its fence (see Worker::park).
  std::size_t size() const noexcept { return size_.load(std::memory_order_seq_cst); }

 private:
  std::mutex mu_;
  TaskHeader* head_ = nullptr;
  TaskHeader* tail_ = nullptr;
  std::atomic<std::size_t> size_{0};
};

}  // namespace executor::detail
