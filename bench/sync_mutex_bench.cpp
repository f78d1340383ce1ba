// mutex (BENCHMARKS.md): 8 tasks each lock an async mutex and increment a shared counter
// 100,000 times, on 2 workers. Figure: lock operations/s.
//
//   ./build/release/bench/sync_mutex_bench
#include <benchmark/benchmark.h>

#include <vector>

#include <executor/executor.hpp>
#include <executor/sync/mutex.hpp>

#include "sync_bench_util.hpp"

namespace {

using executor::JoinHandle;
using executor::Task;
using executor::sync::Mutex;

constexpr int kTasks = 8;
constexpr int kPerTask = 100'000;

Task<void> incrementer(Mutex<long>* m, int n) {
  for (int i = 0; i < n; ++i) {
    auto g = co_await m->lock();
    ++*g;
  }
}

Task<long> run(Mutex<long>* m) {
  std::vector<JoinHandle<void>> ts;
  for (int i = 0; i < kTasks; ++i) ts.push_back(executor::spawn(incrementer(m, kPerTask)));
  for (auto& t : ts) co_await std::move(t);
  co_return m->get_unsynchronized();
}

void BM_Mutex8Tasks2Workers(benchmark::State& state) {
  executor::Runtime rt({.workers = 2});
  const long n = static_cast<long>(kTasks) * kPerTask;
  for (auto _ : state) {
    Mutex<long> m(0L);
    executor::bench::Stopwatch sw;
    long v = rt.block_on(run(&m));
    double s = sw.seconds();
    if (v != n) state.SkipWithError("lost increments");
    state.SetIterationTime(s);
    executor::bench::report("mutex", n, s);
  }
  state.counters["lock_ops_per_s"] =
      benchmark::Counter(static_cast<double>(n) * static_cast<double>(state.iterations()),
                         benchmark::Counter::kIsRate);
}
BENCHMARK(BM_Mutex8Tasks2Workers)
    ->Iterations(1)
    ->Repetitions(5)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);

// One task, no contention: the cost of the lock/unlock fast path.
void BM_MutexUncontended(benchmark::State& state) {
  Mutex<long> m(0L);
  for (auto _ : state) {
    auto g = m.try_lock();
    ++**g;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_MutexUncontended);

}  // namespace

BENCHMARK_MAIN();
