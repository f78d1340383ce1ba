// Workload `spawn_join` (../shared/BENCHMARKS.md): one task spawns 1,000,000 trivial tasks
// (each returns an int), then awaits every handle; `spawn_join_batched` does the same in
// batches of 1,000 (spawn 1,000, await those 1,000, repeat). 2 worker threads (bench::workers()).
//
// The baseline is bench/baselines/asio_workloads.cpp (same workload names).
#include <executor/executor.hpp>

#include <cstdint>
#include <vector>

#include "common/harness.hpp"

namespace {

constexpr int kTasks = 1'000'000;
constexpr int kBatch = 1'000;
constexpr std::int64_t kExpectedSum = std::int64_t{kTasks} * (kTasks - 1) / 2;

executor::Task<int> trivial(int i) {
  co_return i;
}

executor::Task<std::int64_t> spawn_then_join_all() {
  std::vector<executor::JoinHandle<int>> handles;
  handles.reserve(kTasks);
  for (int i = 0; i < kTasks; ++i) handles.push_back(executor::spawn(trivial(i)));
  std::int64_t sum = 0;
  for (auto& h : handles) sum += co_await h.join();
  co_return sum;
}

executor::Task<std::int64_t> spawn_join_in_batches() {
  std::vector<executor::JoinHandle<int>> handles;
  handles.reserve(kBatch);
  std::int64_t sum = 0;
  for (int base = 0; base < kTasks; base += kBatch) {
    for (int i = 0; i < kBatch; ++i) handles.push_back(executor::spawn(trivial(base + i)));
    for (auto& h : handles) sum += co_await h.join();
    handles.clear();
  }
  co_return sum;
}

}  // namespace

int main(int argc, char** argv) {
  executor::Runtime rt({.workers = bench::workers()});
  return bench::run_main(
      argc, argv, "executor",
      {
          {"spawn_join", kTasks, 3,
           [&] {
             bench::check(rt.block_on(spawn_then_join_all()) == kExpectedSum, "sum");
           }},
          {"spawn_join_batched", kTasks, 3,
           [&] {
             bench::check(rt.block_on(spawn_join_in_batches()) == kExpectedSum, "sum");
           }},
      });
}
