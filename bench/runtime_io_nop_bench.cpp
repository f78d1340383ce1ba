// Workload `io_nop` (../shared/BENCHMARKS.md): io_uring NOPs submitted and completed through the
// runtime, 32 in flight: 32 tasks each await NOPs one after another (every NOP goes worker ->
// completion thread -> ring -> completion thread -> worker). 2 worker threads.
//
// The baseline is the raw single-thread liburing loop in bench/baselines/uring_workloads.cpp.
#include <executor/executor.hpp>

#include <cstdint>
#include <vector>

#include <executor/io/operation.hpp>

#include "common/harness.hpp"

namespace {

constexpr int kInFlight = 32;
constexpr int kOps = 1'000'000;
constexpr int kPerTask = kOps / kInFlight;

// One NOP round trip through the public I/O API (executor::io::nop(): one op state from the
// frame allocator, cancel-safe like every I/O operation).
executor::Task<int> nop_loop() {
  int ok = 0;
  for (int i = 0; i < kPerTask; ++i) ok += (co_await executor::io::nop()).ok() ? 1 : 0;
  co_return ok;
}

executor::Task<std::int64_t> nops() {
  std::vector<executor::JoinHandle<int>> handles;
  for (int i = 0; i < kInFlight; ++i) handles.push_back(executor::spawn(nop_loop()));
  std::int64_t ok = 0;
  for (auto& h : handles) ok += co_await h.join();
  co_return ok;
}

}  // namespace

int main(int argc, char** argv) {
  executor::Runtime rt({.workers = 2});
  return bench::run_main(
      argc, argv, "executor",
      {
          {"io_nop", std::int64_t{kPerTask} * kInFlight, 3,
           [&] {
             bench::check(rt.block_on(nops()) == std::int64_t{kPerTask} * kInFlight, "nop results");
           }},
      });
}
