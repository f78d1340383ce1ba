// The C API's overhead: spawn + wait of a trivial blocking task through EXECUTOR_EXPORT_TASK
// (registry, state, result allocation) against spawn_blocking(...).wait() doing the same work,
// and spawn + poll-until-done of a coroutine task on a runtime.
#include <executor/ffi.h>
#include <executor/ffi_export.hpp>

#include <benchmark/benchmark.h>

#include <cstdint>

namespace {

struct Add {
  std::int64_t a = 1;
  std::int64_t run(const executor::CancellationToken&) const { return a + 1; }
};

struct CoAdd {
  std::int64_t a = 1;
  executor::Task<std::int64_t> run(executor::CancellationToken) const { co_return a + 1; }
};

}  // namespace

EXECUTOR_EXPORT_TASK(Add, b_add_spawn, b_add_wait, b_add_poll, b_add_cancel, b_add_cancelled,
                     b_add_handle_destroy, b_add_result_destroy);
EXECUTOR_EXPORT_TASK(CoAdd, b_co_spawn, b_co_wait, b_co_poll, b_co_cancel, b_co_cancelled,
                     b_co_handle_destroy, b_co_result_destroy);

namespace {

void BM_FfiBlockingSpawnWait(benchmark::State& state) {
  Add t;
  for (auto _ : state) {
    std::int64_t* r = b_add_wait(b_add_spawn(&t));
    benchmark::DoNotOptimize(*r);
    b_add_result_destroy(r);
  }
}
BENCHMARK(BM_FfiBlockingSpawnWait)->UseRealTime();

void BM_SpawnBlockingSameWork(benchmark::State& state) {
  Add t;
  executor::CancellationToken token;
  for (auto _ : state) {
    benchmark::DoNotOptimize(executor::spawn_blocking([t, token] { return t.run(token); }).wait());
  }
}
BENCHMARK(BM_SpawnBlockingSameWork)->UseRealTime();

void BM_FfiCoroutineSpawnWait(benchmark::State& state) {
  executor_runtime* rt = executor_runtime_new(2);
  CoAdd t;
  for (auto _ : state) {
    std::int64_t* r = b_co_wait(b_co_spawn(&t));
    benchmark::DoNotOptimize(*r);
    b_co_result_destroy(r);
  }
  executor_runtime_free(rt);
}
BENCHMARK(BM_FfiCoroutineSpawnWait)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
