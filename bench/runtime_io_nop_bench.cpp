// Workload `io_nop` (../shared/BENCHMARKS.md): io_uring NOPs submitted and completed through the
// runtime, 32 in flight: 32 tasks each await NOPs one after another (every NOP goes worker ->
// completion thread -> ring -> completion thread -> worker). 2 worker threads (bench::workers()).
// 256,000 NOPs per timed iteration (scaled by --ops_fraction).
//
// The baseline is the raw single-thread liburing loop in bench/baselines/uring_workloads.cpp.
#include <executor/executor.hpp>

#include <cstdint>
#include <vector>

#include <executor/io/operation.hpp>

#include "common/harness.hpp"

namespace {

constexpr int kInFlight = 32;
constexpr std::int64_t kOps = 256'000;  // per timed iteration (before --ops_fraction)
static_assert(kOps % kInFlight == 0);

// One NOP round trip through the public I/O API (executor::io::nop(): one op state from the
// frame allocator, cancel-safe like every I/O operation).
executor::Task<std::int64_t> nop_loop(std::int64_t n) {
  std::int64_t ok = 0;
  for (std::int64_t i = 0; i < n; ++i) ok += (co_await executor::io::nop()).ok() ? 1 : 0;
  co_return ok;
}

executor::Task<std::int64_t> nops(std::int64_t n) {
  std::vector<executor::JoinHandle<std::int64_t>> handles;
  for (int i = 0; i < kInFlight; ++i) handles.push_back(executor::spawn(nop_loop(n / kInFlight)));
  std::int64_t ok = 0;
  for (auto& h : handles) ok += co_await h.join();
  co_return ok;
}

}  // namespace

int main(int argc, char** argv) {
  executor::Runtime rt({.workers = bench::workers()});
  return bench::run_main(argc, argv, "executor",
                         {
                             {"io_nop", kOps, 3,
                              [&] {
                                std::int64_t n = bench::scaled_ops(kOps, kInFlight);
                                bench::check(rt.block_on(nops(n)) == n, "nop results");
                              },
                              kInFlight},
                         });
}
