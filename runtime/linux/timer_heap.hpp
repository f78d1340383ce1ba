// A binary min-heap of TimerNode pointers ordered by deadline, with each node's index stored in
// the node so that cancellation is O(log n). Not synchronised: the owner (Reactor) locks.
#pragma once

#include <cstddef>
#include <vector>

#include <executor/detail/timer_node.hpp>

namespace executor::detail {

class TimerHeap {
 public:
  bool empty() const noexcept { return heap_.empty(); }
  std::size_t size() const noexcept { return heap_.size(); }
  TimerNode* top() const noexcept { return heap_.empty() ? nullptr : heap_.front(); }

  void push(TimerNode* n) {
    heap_.push_back(n);
    n->heap_index = heap_.size() - 1;
    sift_up(n->heap_index);
  }

  void remove(TimerNode* n) noexcept {
    std::size_t i = n->heap_index;
    std::size_t last = heap_.size() - 1;
    if (i != last) {
      place(i, heap_[last]);
      heap_.pop_back();
      if (!sift_up(i)) sift_down(i);
    } else {
      heap_.pop_back();
    }
    n->heap_index = TimerNode::kNotQueued;
  }

  TimerNode* pop() noexcept {
    TimerNode* n = heap_.front();
    remove(n);
    return n;
  }

 private:
  void place(std::size_t i, TimerNode* n) noexcept {
    heap_[i] = n;
    n->heap_index = i;
  }
  bool sift_up(std::size_t i) noexcept {
    TimerNode* n = heap_[i];
    std::size_t start = i;
    while (i > 0) {
      std::size_t parent = (i - 1) / 2;
      if (!(n->deadline < heap_[parent]->deadline)) break;
      place(i, heap_[parent]);
      i = parent;
    }
    place(i, n);
    return i != start;
  }
  void sift_down(std::size_t i) noexcept {
    TimerNode* n = heap_[i];
    std::size_t size = heap_.size();
    for (;;) {
      std::size_t child = 2 * i + 1;
      if (child >= size) break;
      if (child + 1 < size && heap_[child + 1]->deadline < heap_[child]->deadline) ++child;
      if (!(heap_[child]->deadline < n->deadline)) break;
      place(i, heap_[child]);
      i = child;
    }
    place(i, n);
  }
  std::vector<TimerNode*> heap_;
};

}  // namespace executor::detail
