// The simulated interrupt port (see sim_port.hpp): port.hpp and critical_section.hpp for the
// host build of the Cortex-M executor.
#include "sim_port.hpp"

#include <cstdio>
#include <cstdlib>

#include <executor/cortexm/critical_section.hpp>
#include <executor/cortexm/irq.hpp>

#include "port.hpp"
#include "timer.hpp"

namespace {

struct Machine {
  bool primask = false;
  bool in_handler = false;
  std::uint64_t enabled = 0;
  std::uint64_t pending = 0;
  bool systick_pending = false;
  bool systick_running = false;
  std::uint32_t reload = 0;
  unsigned wfis = 0;
  unsigned handlers = 0;
  std::function<void()> idle_hook;
  std::function<void()> handlers_override[executor::cortexm::kNumIrqs];
};
Machine m;

static_assert(executor::cortexm::kNumIrqs <= 64, "the simulator keeps 64 pending bits");

bool deliverable() {
  return m.systick_pending || (m.pending & m.enabled) != 0;
}

// Runs every deliverable handler, highest priority (lowest exception number) first, as the
// NVIC would once PRIMASK is clear in thread mode.
void deliver() {
  if (m.primask || m.in_handler) return;
  for (;;) {
    if (m.systick_pending) {
      m.systick_pending = false;
      m.in_handler = true;
      ++m.handlers;
      executor::cortexm::internal::systick_isr();
      m.in_handler = false;
      continue;
    }
    std::uint64_t ready = m.pending & m.enabled;
    if (ready == 0) return;
    unsigned irq = static_cast<unsigned>(__builtin_ctzll(ready));
    m.pending &= ~(std::uint64_t{1} << irq);
    m.in_handler = true;
    ++m.handlers;
    if (m.handlers_override[irq]) {
      m.handlers_override[irq]();
    } else {
      executor::cortexm::irq_dispatch(irq);  // the default IRQ<n>_Handler of startup.cpp
    }
    m.in_handler = false;
  }
}

}  // namespace

namespace executor::cortexm {

std::uint32_t irq_save() noexcept {
  std::uint32_t prev = m.primask ? 1 : 0;
  m.primask = true;
  return prev;
}

void irq_restore(std::uint32_t primask) noexcept {
  m.primask = primask != 0;
  deliver();
}

namespace port {

void irq_window() noexcept {
  m.primask = false;
  deliver();
  m.primask = true;
}

void wait_for_interrupt() noexcept {
  ++m.wfis;
  if (deliverable()) return;
  if (m.idle_hook) m.idle_hook();
  if (!deliverable()) panic("sim: WFI with no interrupt pending and none to come (deadlock)");
}

bool in_handler() noexcept {
  return m.in_handler;
}

void nvic_enable(unsigned irq) noexcept {
  m.enabled |= std::uint64_t{1} << irq;
  deliver();
}

void nvic_disable(unsigned irq) noexcept {
  m.enabled &= ~(std::uint64_t{1} << irq);
}

void nvic_pend(unsigned irq) noexcept {
  m.pending |= std::uint64_t{1} << irq;
  deliver();
}

void systick_start(std::uint32_t reload) noexcept {
  m.reload = reload;
  m.systick_running = true;
}

void panic(const char* message) noexcept {
  std::fprintf(stderr, "executor panic: %s\n", message);
  std::fflush(stderr);
  std::abort();
}

}  // namespace port
}  // namespace executor::cortexm

namespace sim {

void reset() {
  m = Machine{};
}

void raise(unsigned irq) {
  executor::cortexm::port::nvic_pend(irq);
}

void tick(unsigned n) {
  if (!m.systick_running) executor::cortexm::port::panic("sim::tick: SysTick not started");
  for (unsigned i = 0; i < n; ++i) {
    m.systick_pending = true;  // one pending bit: ticks raised while masked coalesce
    deliver();
  }
}

bool enabled(unsigned irq) {
  return (m.enabled >> irq) & 1;
}
bool pending(unsigned irq) {
  return (m.pending >> irq) & 1;
}
bool masked() {
  return m.primask;
}
bool systick_running() {
  return m.systick_running;
}
std::uint32_t systick_reload() {
  return m.reload;
}
void set_idle_hook(std::function<void()> hook) {
  m.idle_hook = std::move(hook);
}
void set_irq_handler(unsigned irq, std::function<void()> handler) {
  m.handlers_override[irq] = std::move(handler);
}
unsigned wfi_count() {
  return m.wfis;
}
unsigned handler_count() {
  return m.handlers;
}

}  // namespace sim
