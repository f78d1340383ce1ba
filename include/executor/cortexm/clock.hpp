// executor::cortexm::TickClock: the SysTick tick counter as a std::chrono clock.
//
// SysTick interrupts EXECUTOR_CORTEXM_TICK_HZ times a second (default 1000; define it the same
// for the whole image). Each interrupt advances the 64-bit tick count and wakes the sleepers
// whose deadline has come (sleep.hpp). The tick runs from start_tick() on; Executor::run_until
// and run() start it with EXECUTOR_CORTEXM_CPU_HZ (default 25 MHz, the mps2-an385 clock) if the
// application did not.
//
// Thread safety: now() from thread mode or handlers (it reads the count in a critical section).
#pragma once

#include <chrono>
#include <cstdint>
#include <ratio>

#ifndef EXECUTOR_CORTEXM_TICK_HZ
#define EXECUTOR_CORTEXM_TICK_HZ 1000
#endif
#ifndef EXECUTOR_CORTEXM_CPU_HZ
#define EXECUTOR_CORTEXM_CPU_HZ 25000000
#endif

namespace executor::cortexm {

struct TickClock {
  using rep = std::int64_t;
  using period = std::ratio<1, EXECUTOR_CORTEXM_TICK_HZ>;
  using duration = std::chrono::duration<rep, period>;
  using time_point = std::chrono::time_point<TickClock>;
  static constexpr bool is_steady = true;

  // Ticks since start_tick (0 before).
  static time_point now() noexcept;
};

// Programs SysTick to interrupt EXECUTOR_CORTEXM_TICK_HZ times a second from a `cpu_hz` core
// clock (processor clock source). Calling it again re-programs the reload value; the count
// keeps going. Errors: a rate SysTick cannot produce (reload outside 1..2^24) is fatal.
void start_tick(std::uint32_t cpu_hz) noexcept;
// True once start_tick ran.
bool tick_started() noexcept;

}  // namespace executor::cortexm
