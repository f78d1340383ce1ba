// The steady clock as a signed count of nanoseconds since its epoch: for deadlines and elapsed
// times kept in plain integers (per-op deadlines, a worker's time on the CPU).
#pragma once

#include <chrono>
#include <cstdint>

namespace executor::detail {

inline std::int64_t monotonic_ns() noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace executor::detail
