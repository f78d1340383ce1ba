// The steady clock as a signed count of nanoseconds since its epoch: for deadlines and elapsed
// times kept in plain integers (per-op deadlines, a worker's time on the CPU).
#pragma once

#include <time.h>

#include <chrono>
#include <cstdint>

namespace executor::detail {

inline std::int64_t monotonic_ns() noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// The same clock as of the latest scheduler tick (CLOCK_MONOTONIC_COARSE: up to one tick, 4 ms
// at CONFIG_HZ=250, behind monotonic_ns(), never ahead). A few nanoseconds instead of a TSC
// read: for staleness checks on hot paths whose threshold is many ticks long.
inline std::int64_t monotonic_coarse_ns() noexcept {
  timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

}  // namespace executor::detail
