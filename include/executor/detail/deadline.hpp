// Deadlines from durations without overflow: now + d, saturated at time_point::max() (a
// duration too large to represent from now, such as hours::max(), means "never"), and `now`
// for d <= 0 (expires at once). Used by sleep(), .timeout() and executor::timeout().
#pragma once

#include <chrono>

namespace executor::detail {

template <class Rep, class Period>
std::chrono::steady_clock::time_point deadline_after(
    std::chrono::steady_clock::time_point now, std::chrono::duration<Rep, Period> d) noexcept {
  using TimePoint = std::chrono::steady_clock::time_point;
  using Dur = TimePoint::duration;
  if (!(d > std::chrono::duration<Rep, Period>::zero())) return now;  // also NaN
  // Compared in long double nanoseconds: exact enough, and no integer conversion can overflow.
  const Dur left = TimePoint::max() - now;
  if (std::chrono::duration<long double, std::nano>(d).count() >=
      static_cast<long double>(left.count())) {
    return TimePoint::max();
  }
  return now + std::chrono::ceil<Dur>(d);
}

}  // namespace executor::detail
