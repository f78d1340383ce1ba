// The worker-thread count of a benchmark process (benchmarks only).
#pragma once

#include <cstdlib>

namespace bench {

// Every multi-threaded implementation under test (executor's runtimes, Asio's thread pools) runs
// this many threads: EXECUTOR_WORKERS when it holds an integer in 1..1024 (the driver's
// `crowded` condition sets 4), otherwise 2 (shared/BENCHMARKS.md). The raw liburing baselines
// are single-threaded and ignore it.
inline unsigned workers() {
  if (const char* env = std::getenv("EXECUTOR_WORKERS")) {
    char* end = nullptr;
    unsigned long v = std::strtoul(env, &end, 10);
    if (end != env && *end == '\0' && v >= 1 && v <= 1024) return static_cast<unsigned>(v);
  }
  return 2;
}

}  // namespace bench
