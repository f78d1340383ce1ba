// Interrupt waker lists (see <executor/cortexm/irq.hpp>).
//
// Fields: each list's head_/tail_ and every linked node's prev/next/linked/waker are written by
// tasks (link/unlink) and by handlers (wake_all), always inside a critical section.
#include <executor/cortexm/critical_section.hpp>
#include <executor/cortexm/irq.hpp>
#include <executor/detail/task_header.hpp>

#include "port.hpp"

namespace executor::cortexm {

namespace {
constinit IrqWakerList g_lists[kNumIrqs];

void check_irq(unsigned irq) noexcept {
  if (irq >= kNumIrqs) {
    executor::detail::fatal(
        "executor::cortexm: interrupt number out of range (>= EXECUTOR_CORTEXM_NUM_IRQS)");
  }
}
}  // namespace

void IrqWakerList::link(IrqWaitNode* node) noexcept {
  CriticalSection cs;
  node->next = nullptr;
  node->prev = tail_;
  if (tail_ != nullptr) {
    tail_->next = node;
  } else {
    head_ = node;
  }
  tail_ = node;
  node->linked = true;
}

void IrqWakerList::unlink(IrqWaitNode* node) noexcept {
  executor::detail::Waker w;
  {
    CriticalSection cs;
    if (!node->linked) return;
    if (node->prev != nullptr) {
      node->prev->next = node->next;
    } else {
      head_ = node->next;
    }
    if (node->next != nullptr) {
      node->next->prev = node->prev;
    } else {
      tail_ = node->prev;
    }
    node->prev = node->next = nullptr;
    node->linked = false;
    w = static_cast<executor::detail::Waker&&>(node->waker);
  }
  w.drop();  // outside the critical section: dropping may free a finished task's cell
}

std::size_t IrqWakerList::wake_all() noexcept {
  CriticalSection cs;
  std::size_t n = 0;
  while (IrqWaitNode* node = head_) {
    head_ = node->next;
    if (head_ != nullptr) {
      head_->prev = nullptr;
    } else {
      tail_ = nullptr;
    }
    node->prev = node->next = nullptr;
    node->linked = false;
    node->waker.wake();  // queues the task; it runs later from the executor loop
    ++n;
  }
  return n;
}

std::size_t IrqWakerList::size() const noexcept {
  CriticalSection cs;
  std::size_t n = 0;
  for (IrqWaitNode* p = head_; p != nullptr; p = p->next) ++n;
  return n;
}

IrqWakerList& irq_wakers(unsigned irq) noexcept {
  check_irq(irq);
  return g_lists[irq];
}

void enable_irq(unsigned irq) noexcept {
  check_irq(irq);
  port::nvic_enable(irq);
}

void disable_irq(unsigned irq) noexcept {
  check_irq(irq);
  port::nvic_disable(irq);
}

void pend_irq(unsigned irq) noexcept {
  check_irq(irq);
  port::nvic_pend(irq);
}

void irq_dispatch(unsigned irq) noexcept {
  check_irq(irq);
  port::nvic_disable(irq);  // a level-triggered source stays quiet until the next wait_irq
  g_lists[irq].wake_all();
}

}  // namespace executor::cortexm
