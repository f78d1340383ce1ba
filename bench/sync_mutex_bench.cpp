// Workload `mutex` (../shared/BENCHMARKS.md): 8 tasks each lock an async mutex and increment a
// shared counter 100,000 times; the figure is lock operations per second. 2 worker threads
// (bench::workers()).
//
// Extra workload `mutex_uncontended`: one task, 1,000,000 lock/unlock pairs (the fast path).
//
//   ./build/release/bench/sync_mutex_bench [--benchmark_filter=^mutex/]
#include <executor/executor.hpp>
#include <executor/sync/mutex.hpp>

#include <cstdint>
#include <vector>

#include "common/harness.hpp"

namespace {

using executor::JoinHandle;
using executor::Task;
using executor::sync::Mutex;

constexpr int kTasks = 8;
constexpr int kPerTask = 100'000;

Task<void> incrementer(Mutex<std::int64_t>* m, int n) {
  for (int i = 0; i < n; ++i) {
    auto g = co_await m->lock();
    ++*g;
  }
}

Task<std::int64_t> contended() {
  Mutex<std::int64_t> m(std::int64_t{0});
  std::vector<JoinHandle<void>> ts;
  for (int i = 0; i < kTasks; ++i) ts.push_back(executor::spawn(incrementer(&m, kPerTask)));
  for (auto& t : ts) co_await std::move(t);
  co_return m.get_unsynchronized();
}

Task<std::int64_t> uncontended(int n) {
  Mutex<std::int64_t> m(std::int64_t{0});
  co_await incrementer(&m, n);
  co_return m.get_unsynchronized();
}

}  // namespace

int main(int argc, char** argv) {
  executor::Runtime rt({.workers = bench::workers()});
  const std::int64_t n = std::int64_t{kTasks} * kPerTask;
  return bench::run_main(argc, argv, "executor",
                         {
                             {"mutex", n, 5,
                              [&] {
                                bench::check(rt.block_on(contended()) == n, "lost increments");
                              }},
                             {"mutex_uncontended", 1'000'000, 5,
                              [&] {
                                bench::check(rt.block_on(uncontended(1'000'000)) == 1'000'000,
                                             "count");
                              }},
                         });
}
