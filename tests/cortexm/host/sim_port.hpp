// The simulated interrupt port: runs the Cortex-M executor code on the host, deterministically.
//
// It models what the executor relies on: PRIMASK (irq_save/irq_restore), one pending bit per
// external line plus SysTick's, NVIC enable bits, handlers that run to completion without being
// pre-empted by each other, delivery whenever thread-mode code unmasks (irq_restore to 0, the
// loop's irq_window, enabling a pending line), SysTick before IRQ0 before IRQ1 ... (exception
// number order at equal priority), and WFI that returns only when something is pending.
//
// The test plays the hardware: raise(n) and tick() between executor polls (delivered at once
// when unmasked) or from inside a task (pended until the next window). A WFI with nothing
// pending calls the idle hook, which must raise something; without one it is a deadlock and
// panics. Panics (detail::fatal) print and abort, so death tests can check them.
#pragma once

#include <cstdint>
#include <functional>

namespace sim {

// Back to reset: unmasked, nothing enabled or pending, SysTick stopped, no idle hook.
void reset();

// Pends external interrupt `irq` (as a device or NVIC ISPR would).
void raise(unsigned irq);
// Pends SysTick `n` times, one at a time (each delivered before the next if unmasked).
void tick(unsigned n = 1);

bool enabled(unsigned irq);
bool pending(unsigned irq);
bool masked();
bool systick_running();
std::uint32_t systick_reload();

// Replaces the handler of line `irq` (as an application-defined IRQ<n>_Handler replaces the
// weak default, which is executor::cortexm::irq_dispatch). An empty function restores it.
void set_irq_handler(unsigned irq, std::function<void()> handler);

// Called when the executor executes WFI with nothing pending.
void set_idle_hook(std::function<void()> hook);
// WFIs executed and handlers run since reset().
unsigned wfi_count();
unsigned handler_count();

}  // namespace sim
