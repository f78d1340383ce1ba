// The hardware port of the Cortex-M executor: the few operations the portable executor code
// (executor.cpp, timer.cpp, irq.cpp, frame_pool.cpp) needs from the machine. port_armv7m.cpp
// implements them on ARMv7-M; tests/cortexm/host/sim_port.cpp simulates them on the host so the
// same executor code runs under GoogleTest with interrupts raised by the test.
// irq_save/irq_restore (PRIMASK) are in <executor/cortexm/critical_section.hpp>.
#pragma once

#include <cstdint>

namespace executor::cortexm::port {

// Called with interrupts masked: unmask, let every pending handler run, mask again.
void irq_window() noexcept;
// Called with interrupts masked: sleep until an interrupt is pending (WFI). Returns with
// interrupts still masked; the handler runs at the next irq_window().
void wait_for_interrupt() noexcept;
// True in an exception handler (IPSR != 0).
bool in_handler() noexcept;

// NVIC, external interrupt lines (irq already range-checked by the caller).
void nvic_enable(unsigned irq) noexcept;
void nvic_disable(unsigned irq) noexcept;
void nvic_pend(unsigned irq) noexcept;

// SysTick: interrupt every `reload + 1` core clock cycles (reload in 1..0xFFFFFF).
void systick_start(std::uint32_t reload) noexcept;

// Reports `message` and stops the program (semihosting exit on the target, abort on the host).
[[noreturn]] void panic(const char* message) noexcept;

}  // namespace executor::cortexm::port
