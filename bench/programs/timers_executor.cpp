// Workload `timers` (../shared/BENCHMARKS.md): 100,000 tasks each sleep 10 ms at once.
// Figures: wall time (ideal: 10 ms plus the time to spawn and join), peak RSS, mean overshoot.
// 2 worker threads (bench::workers()). The baseline is bench/baselines/asio_timers.cpp.
#include <executor/executor.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <vector>

#include "common/timers_report.hpp"

namespace {

using namespace std::chrono_literals;
using executor::Clock;

constexpr int kTasks = 100'000;

executor::Task<std::int64_t> sleeper() {
  Clock::time_point deadline = Clock::now() + 10ms;
  co_await executor::sleep_until(deadline);
  co_return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - deadline).count();
}

struct Overshoot {
  std::int64_t sum_ns = 0;
  std::int64_t max_ns = 0;
};

executor::Task<Overshoot> sleep_all() {
  std::vector<executor::JoinHandle<std::int64_t>> handles;
  handles.reserve(kTasks);
  for (int i = 0; i < kTasks; ++i) handles.push_back(executor::spawn(sleeper()));
  Overshoot o;
  for (auto& h : handles) {
    std::int64_t ns = co_await h.join();
    o.sum_ns += ns;
    o.max_ns = std::max(o.max_ns, ns);
  }
  co_return o;
}

}  // namespace

int main(int argc, char** argv) {
  executor::Runtime rt({.workers = bench::workers()});
  return bench::timers_main(argc, argv, "executor", kTasks, [&] {
    auto start = Clock::now();
    Overshoot o = rt.block_on(sleep_all());
    auto end = Clock::now();
    return bench::TimersRun{std::chrono::duration<double>(end - start).count(),
                            static_cast<double>(o.sum_ns) / kTasks / 1e6,
                            static_cast<double>(o.max_ns) / 1e6};
  });
}
