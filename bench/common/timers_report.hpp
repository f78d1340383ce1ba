// Shared by the `timers` programs (executor's and the baseline's): runs the workload once
// untimed (warm-up), then `--iterations=N` times (default 3), and prints one line with the
// median wall time and median mean overshoot of those runs plus the process's peak RSS:
//   impl=executor workload=timers n=100000 iterations=3 seconds=0.0213 overshoot_mean_ms=0.12
//   overshoot_max_ms=1.3 peak_rss_kb=30000
// `seconds` runs from the first spawn until every task has been joined; a task's overshoot is
// the time from its deadline (taken when it starts sleeping) until it runs again.
#pragma once

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "rss.hpp"
#include "workers.hpp"

namespace bench {

struct TimersRun {
  double seconds = 0;
  double overshoot_mean_ms = 0;
  double overshoot_max_ms = 0;
};

template <class RunOnce>
int timers_main(int argc, char** argv, const char* impl, long tasks, RunOnce run_once) {
  int iterations = 3;
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--iterations=", 13) == 0) {
      iterations = std::atoi(argv[i] + 13);
    } else {
      std::fprintf(stderr, "usage: %s [--iterations=N]\n", argv[0]);
      return 2;
    }
  }
  if (iterations <= 0) {
    std::fprintf(stderr, "--iterations must be a positive integer\n");
    return 2;
  }
  run_once();  // warm-up
  std::vector<TimersRun> runs;
  for (int i = 0; i < iterations; ++i) {
    runs.push_back(run_once());
    std::fprintf(stderr, "run %d: %.2f ms wall, overshoot mean %.3f ms, max %.3f ms\n", i,
                 runs.back().seconds * 1e3, runs.back().overshoot_mean_ms,
                 runs.back().overshoot_max_ms);
  }
  auto median = [&](double TimersRun::*field) {
    std::vector<double> v;
    for (const TimersRun& r : runs) v.push_back(r.*field);
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  std::printf(
      "impl=%s workload=timers n=%ld iterations=%d seconds=%.6f overshoot_mean_ms=%.4f "
      "overshoot_max_ms=%.4f peak_rss_kb=%ld\n",
      impl, tasks, iterations, median(&TimersRun::seconds), median(&TimersRun::overshoot_mean_ms),
      median(&TimersRun::overshoot_max_ms), peak_rss_kb());
  return 0;
}

}  // namespace bench
