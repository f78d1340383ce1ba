// spawn_blocking round trips: from a plain thread (wait) and from a task (co_await), one job at a
// time (latency: a hand-off to an idle pool thread and back) and in batches of 64 (throughput),
// against a baseline that starts a std::thread per job (what code without a pool does).
#include <executor/runtime.hpp>
#include <executor/spawn_blocking.hpp>

#include <benchmark/benchmark.h>

#include <thread>
#include <vector>

namespace {

void BM_SpawnBlockingWaitFromThread(benchmark::State& state) {
  for (auto _ : state) {
    benchmark::DoNotOptimize(executor::spawn_blocking([] { return 1; }).wait());
  }
}
BENCHMARK(BM_SpawnBlockingWaitFromThread)->UseRealTime();

void BM_SpawnBlockingBatchFromThread(benchmark::State& state) {
  std::vector<executor::BlockingJoinHandle<int>> hs;
  hs.reserve(64);
  for (auto _ : state) {
    for (int i = 0; i < 64; ++i) hs.push_back(executor::spawn_blocking([i] { return i; }));
    for (auto& h : hs) benchmark::DoNotOptimize(h.wait());
    hs.clear();
  }
  state.SetItemsProcessed(state.iterations() * 64);
}
BENCHMARK(BM_SpawnBlockingBatchFromThread)->UseRealTime();

void BM_ThreadPerJobBaseline(benchmark::State& state) {
  for (auto _ : state) {
    int r = 0;
    std::thread([&r] { r = 1; }).join();
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_ThreadPerJobBaseline)->UseRealTime();

executor::Task<int> await_jobs(int n) {
  int sum = 0;
  for (int i = 0; i < n; ++i) {
    auto h = executor::spawn_blocking([i] { return i; });
    sum += co_await std::move(h);
  }
  co_return sum;
}

void BM_SpawnBlockingAwaitFromTask(benchmark::State& state) {
  executor::Runtime rt({.workers = 2});
  for (auto _ : state) benchmark::DoNotOptimize(rt.block_on(await_jobs(256)));
  state.SetItemsProcessed(state.iterations() * 256);
}
BENCHMARK(BM_SpawnBlockingAwaitFromTask)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
