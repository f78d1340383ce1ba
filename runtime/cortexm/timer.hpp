// Private: the SysTick handler body and test hooks of the timer queue (timer.cpp).
#pragma once

namespace executor::cortexm::internal {

// The SysTick handler: one tick, then wake every due sleeper in deadline order.
void systick_isr() noexcept;
// Host tests only: tick count back to 0, tick not started. The queue must be empty.
void reset_timers_for_test() noexcept;

}  // namespace executor::cortexm::internal
