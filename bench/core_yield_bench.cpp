// Workload `yield` (../shared/BENCHMARKS.md): 1,000 tasks each call executor::yield_now()
// 1,000 times; the figure is yields per second. 2 worker threads (bench::workers()).
//
// The baseline is bench/baselines/asio_workloads.cpp (same workload name).
#include <executor/executor.hpp>

#include <cstdint>
#include <vector>

#include "common/harness.hpp"

namespace {

constexpr int kTasks = 1'000;
constexpr int kYields = 1'000;

executor::Task<int> yielder() {
  int n = 0;
  for (int i = 0; i < kYields; ++i) {
    co_await executor::yield_now();
    ++n;
  }
  co_return n;
}

executor::Task<std::int64_t> yield_all() {
  std::vector<executor::JoinHandle<int>> handles;
  handles.reserve(kTasks);
  for (int i = 0; i < kTasks; ++i) handles.push_back(executor::spawn(yielder()));
  std::int64_t total = 0;
  for (auto& h : handles) total += co_await h.join();
  co_return total;
}

}  // namespace

int main(int argc, char** argv) {
  executor::Runtime rt({.workers = bench::workers()});
  return bench::run_main(argc, argv, "executor",
                         {
                             {"yield", std::int64_t{kTasks} * kYields, 3,
                              [&] {
                                bench::check(
                                    rt.block_on(yield_all()) == std::int64_t{kTasks} * kYields,
                                    "yield count");
                              }},
                         });
}
