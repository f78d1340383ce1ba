// Coroutine frame allocation, provided by the runtime: the Linux runtime uses the heap, the
// Cortex-M runtime fixed pools in static storage. Both return nullptr on exhaustion (never throw),
// which a Task reports as an invalid task (see Task::valid()).
#pragma once

#include <cstddef>

#include <executor/export.hpp>

namespace executor::detail {

EXECUTOR_API void* allocate_frame(std::size_t size) noexcept;
EXECUTOR_API void free_frame(void* frame, std::size_t size) noexcept;

}  // namespace executor::detail
