// executor::cortexm::CriticalSection: masks interrupts (PRIMASK) for the lifetime of the object.
//
// The Cortex-M executor is single-core: the only concurrency is an interrupt handler pre-empting
// thread-mode code. Everything an interrupt handler shares with tasks (ready queue, waker lists,
// timer queue, frame pools, sync primitives) is touched only inside a critical section. Tasks
// themselves already run with interrupts masked (see executor.hpp), so inside a task a critical
// section costs two instructions and nests freely: it restores the mask it found.
//
// Thread safety: usable in thread mode and in handlers, nested to any depth.
// Memory ordering: entering and leaving are compiler barriers ("memory" clobber); a single core
// needs no hardware fence for its own interrupt handlers.
//
// On the host (tests/cortexm) the two functions are provided by the simulated interrupt port.
#pragma once

#include <cstdint>

namespace executor::cortexm {

#if defined(__arm__) && defined(__ARM_ARCH_PROFILE) && __ARM_ARCH_PROFILE == 'M'
// Masks interrupts; returns the previous PRIMASK (1: they were already masked).
inline std::uint32_t irq_save() noexcept {
  std::uint32_t primask;
  asm volatile("mrs %0, primask\n\tcpsid i" : "=r"(primask) : : "memory");
  return primask;
}
// Restores the PRIMASK value returned by the matching irq_save().
inline void irq_restore(std::uint32_t primask) noexcept {
  asm volatile("msr primask, %0" : : "r"(primask) : "memory");
}
#else
std::uint32_t irq_save() noexcept;
void irq_restore(std::uint32_t primask) noexcept;
#endif

class CriticalSection {
 public:
  CriticalSection() noexcept : saved_(irq_save()) {}
  ~CriticalSection() { irq_restore(saved_); }
  CriticalSection(const CriticalSection&) = delete;
  CriticalSection& operator=(const CriticalSection&) = delete;

 private:
  std::uint32_t saved_;
};

}  // namespace executor::cortexm
