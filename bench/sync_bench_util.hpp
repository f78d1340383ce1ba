// Helpers for the sync benchmarks: one machine-readable line per result (BENCHMARKS.md).
#pragma once

#include <sys/resource.h>

#include <chrono>
#include <cstdio>

namespace executor::bench {

inline long peak_rss_kb() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;
}

// Prints `impl=executor workload=<name> n=<n> seconds=<s> ops_per_s=<n/s> peak_rss_kb=<kb>`.
inline void report(const char* workload, long n, double seconds) {
  std::printf("impl=executor workload=%s n=%ld seconds=%.4f ops_per_s=%.3e peak_rss_kb=%ld\n",
              workload, n, seconds, static_cast<double>(n) / seconds, peak_rss_kb());
  std::fflush(stdout);
}

class Stopwatch {
 public:
  Stopwatch() : start_(std::chrono::steady_clock::now()) {}
  double seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }

 private:
  std::chrono::steady_clock::time_point start_;
};

}  // namespace executor::bench
