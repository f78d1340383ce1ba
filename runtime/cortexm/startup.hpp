// Private: what the startup code (startup.cpp) exposes to the firmware test images.
#pragma once

#include <cstddef>

namespace executor::cortexm {

// Size of the main stack reserved by the linker script, and the most of it ever used (measured
// from the paint Reset_Handler applies to the unused stack).
std::size_t stack_size() noexcept;
std::size_t stack_high_water() noexcept;

}  // namespace executor::cortexm
