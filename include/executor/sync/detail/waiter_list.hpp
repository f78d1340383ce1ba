// An intrusive, doubly-linked FIFO list of waiters. The nodes live inside awaiters (in the
// awaiting coroutine frames), so waiting never allocates; unlinking a node is O(1), which is what
// an awaiter destroyed mid-wait needs. Not thread-safe: the owning primitive guards it with its
// Lock.
#pragma once

#include <cstddef>

namespace executor::sync::detail {

struct ListNode {
  ListNode* prev = nullptr;
  ListNode* next = nullptr;
  bool linked = false;
};

class WaiterList {
 public:
  constexpr WaiterList() noexcept = default;
  WaiterList(const WaiterList&) = delete;
  WaiterList& operator=(const WaiterList&) = delete;

  bool empty() const noexcept { return head_ == nullptr; }
  std::size_t size() const noexcept { return size_; }
  ListNode* front() const noexcept { return head_; }

  void push_back(ListNode* n) noexcept {
    n->prev = tail_;
    n->next = nullptr;
    if (tail_ != nullptr) {
      tail_->next = n;
    } else {
      head_ = n;
    }
    tail_ = n;
    n->linked = true;
    ++size_;
  }
  ListNode* pop_front() noexcept {
    ListNode* n = head_;
    if (n != nullptr) remove(n);
    return n;
  }
  void remove(ListNode* n) noexcept {
    if (n->prev != nullptr) {
      n->prev->next = n->next;
    } else {
      head_ = n->next;
    }
    if (n->next != nullptr) {
      n->next->prev = n->prev;
    } else {
      tail_ = n->prev;
    }
    n->prev = n->next = nullptr;
    n->linked = false;
    --size_;
  }
  // Moves every node of this list to the back of `other`, keeping their order.
  void splice_to(WaiterList& other) noexcept {
    if (head_ == nullptr) return;
    if (other.tail_ != nullptr) {
      other.tail_->next = head_;
      head_->prev = other.tail_;
    } else {
      other.head_ = head_;
    }
    other.tail_ = tail_;
    other.size_ += size_;
    head_ = tail_ = nullptr;
    size_ = 0;
  }

 private:
  ListNode* head_ = nullptr;
  ListNode* tail_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace executor::sync::detail
