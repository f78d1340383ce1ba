// The global injection queue: tasks scheduled from outside a worker (the completion thread,
// foreign threads) and local-queue overflow. A FIFO of task pointers under a mutex; `size()` is
// a lock-free hint so idle checks don't take the lock.
//
// Design
// ------
// The queue stores pointers in segments of kSegmentSlots (8 KiB each) linked into a list:
// pushes fill the tail segment, pops copy pointers out of the head segment. Neither side reads
// the tasks themselves, so the critical section is a copy of pointers; an intrusive list would
// make every pop walk `queue_next` through cold task headers under the lock, one cache miss per
// task (it was the largest item of the timers and spawn_join profiles). Drained segments are kept
// as spares, up to kMaxSpares (128 KiB), so a steady stream and repeated bursts of up to 16,000
// tasks allocate nothing; larger bursts allocate one segment per 1,023 tasks and free the excess
// as they drain.
//
// Out of memory: a push never fails. If a segment cannot be allocated, tasks go to an intrusive
// overflow chain (TaskHeader::queue_next) instead, and keep going there until the chain drains,
// so FIFO order holds: pops take the segments first, then the chain.
//
// Fields: everything but size_ under mu_. size_ is written under mu_ and read anywhere as a hint.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstring>
#include <mutex>
#include <new>
#include <utility>

#include <executor/detail/task_header.hpp>

namespace executor::detail {

class InjectQueue {
 public:
  static constexpr std::size_t kSegmentSlots = 1023;
  static constexpr std::size_t kMaxSpares = 16;

  InjectQueue() = default;
  InjectQueue(const InjectQueue&) = delete;
  InjectQueue& operator=(const InjectQueue&) = delete;
  ~InjectQueue() {
    while (head_ != nullptr) delete std::exchange(head_, head_->next);
    while (spares_ != nullptr) delete std::exchange(spares_, spares_->next);
  }

  void push(TaskHeader* t) noexcept {
    push_n(1, [t](std::size_t) { return t; });
  }

  // Appends the n tasks of the chain starting at `first` (linked by queue_next), in order.
  void push_chain(TaskHeader* first, std::size_t n) noexcept {
    TaskHeader* next = first;
    push_n(n, [&next](std::size_t) {
      TaskHeader* t = next;
      next = t->queue_next;
      return t;
    });
  }

  // Appends get(0), get(1), ..., get(n - 1) under one lock. `get` runs under the queue's lock:
  // it must not touch the queue.
  template <class Get>
  void push_n(std::size_t n, Get&& get) noexcept {
    if (n == 0) return;
    std::lock_guard lock(mu_);
    for (std::size_t i = 0; i < n;) {
      if (chain_head_ == nullptr && ((tail_ != nullptr && tail_pos_ < kSegmentSlots) || grow())) {
        std::size_t k = std::min(n - i, kSegmentSlots - tail_pos_);
        for (std::size_t j = 0; j < k; ++j) tail_->slots[tail_pos_ + j] = get(i + j);
        tail_pos_ += k;
        i += k;
      } else {
        TaskHeader* t = get(i++);
        t->queue_next = nullptr;
        if (chain_tail_ != nullptr) {
          chain_tail_->queue_next = t;
        } else {
          chain_head_ = t;
        }
        chain_tail_ = t;
      }
    }
    // relaxed: the mutex orders the tasks; the count is only a hint. (seq_cst for the parking
    // protocol, which reads it after its fence: see Worker::park.)
    size_.store(size_.load(std::memory_order_relaxed) + n, std::memory_order_seq_cst);
  }

  // Pops up to `max` tasks into out[0..n) in FIFO order and returns n (0 if empty).
  std::size_t pop_batch(TaskHeader** out, std::size_t max) noexcept {
    if (size_.load(std::memory_order_relaxed) == 0) return 0;
    Segment* drained = nullptr;
    std::size_t n = 0;
    {
      std::lock_guard lock(mu_);
      while (n < max && head_ != nullptr) {
        std::size_t end = head_ == tail_ ? tail_pos_ : kSegmentSlots;
        if (head_pos_ == end) {
          if (head_ == tail_) {  // empty: start the segment over
            head_pos_ = tail_pos_ = 0;
            break;
          }
          Segment* done = std::exchange(head_, head_->next);
          head_pos_ = 0;
          if (num_spares_ < kMaxSpares) {
            done->next = spares_;
            spares_ = done;
            ++num_spares_;
          } else {
            done->next = drained;
            drained = done;
          }
          continue;
        }
        std::size_t k = std::min(max - n, end - head_pos_);
        std::memcpy(out + n, head_->slots + head_pos_, k * sizeof(TaskHeader*));
        head_pos_ += k;
        n += k;
      }
      while (n < max && chain_head_ != nullptr) {  // only after running out of memory
        out[n++] = chain_head_;
        chain_head_ = chain_head_->queue_next;
        if (chain_head_ == nullptr) chain_tail_ = nullptr;
      }
      size_.store(size_.load(std::memory_order_relaxed) - n, std::memory_order_relaxed);
    }
    while (drained != nullptr) delete std::exchange(drained, drained->next);  // after unlocking
    return n;
  }

  // seq_cst: the parking protocol reads this after its fence (see Worker::park).
  std::size_t size() const noexcept { return size_.load(std::memory_order_seq_cst); }

  // Tests only: make every segment allocation fail from now on (exercises the overflow chain).
  void fail_allocations_for_testing() noexcept {
    std::lock_guard lock(mu_);
    fail_allocations_ = true;
    while (spares_ != nullptr) delete std::exchange(spares_, spares_->next);
    num_spares_ = 0;
  }

 private:
  struct Segment {
    Segment* next = nullptr;
    TaskHeader* slots[kSegmentSlots];
  };

  // Appends a segment (a spare, or a new one); false when out of memory.
  bool grow() noexcept {
    Segment* s = spares_;
    if (s != nullptr) {
      spares_ = s->next;
      --num_spares_;
    } else if (fail_allocations_ || (s = new (std::nothrow) Segment) == nullptr) {
      return false;
    }
    s->next = nullptr;
    if (tail_ != nullptr) {
      tail_->next = s;
    } else {
      head_ = s;
      head_pos_ = 0;
    }
    tail_ = s;
    tail_pos_ = 0;
    return true;
  }

  std::mutex mu_;
  Segment* head_ = nullptr;  // pops from head_->slots[head_pos_]
  std::size_t head_pos_ = 0;
  Segment* tail_ = nullptr;  // pushes to tail_->slots[tail_pos_]
  std::size_t tail_pos_ = 0;
  Segment* spares_ = nullptr;  // drained segments kept for reuse (linked by next)
  std::size_t num_spares_ = 0;
  TaskHeader* chain_head_ = nullptr;  // overflow after an allocation failure (queue_next)
  TaskHeader* chain_tail_ = nullptr;
  bool fail_allocations_ = false;
  std::atomic<std::size_t> size_{0};
};

}  // namespace executor::detail
