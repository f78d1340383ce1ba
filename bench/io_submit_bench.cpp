// The cost of one I/O round trip through the runtime: IORING_OP_NOPs submitted by tasks, 32 in
// flight (the io_nop workload of ../shared/BENCHMARKS.md), and the same on one raw liburing ring
// in one thread. Used to compare submission designs (docs/architecture.md):
//
//   ./build/release/bench/io_submit_bench                                 # MPSC to the completion
//   thread EXECUTOR_URING_SUBMIT=locked ./build/release/bench/io_submit_bench    # workers submit
//   under a lock
//
// items_per_second is nops/s.
#include <liburing.h>

#include <cstdlib>
#include <vector>

#include <benchmark/benchmark.h>

#include <executor/io/io.hpp>
#include <executor/join_handle.hpp>
#include <executor/runtime.hpp>
#include <executor/spawn.hpp>

namespace {

using namespace executor;

constexpr int kInFlight = 32;
constexpr int kPerTask = 1000;

Task<void> nops(int n) {
  for (int i = 0; i < n; ++i) {
    if (!(co_await io::nop()).ok()) std::abort();
  }
}

Task<void> batch() {
  std::vector<JoinHandle<void>> hs;
  hs.reserve(kInFlight);
  for (int i = 0; i < kInFlight; ++i) hs.push_back(spawn(nops, kPerTask));
  for (auto& h : hs) co_await std::move(h);
}

void BM_ExecutorNop(benchmark::State& state) {
  Runtime rt({.workers = static_cast<unsigned>(state.range(0))});
  for (auto _ : state) rt.block_on(batch());
  state.SetItemsProcessed(state.iterations() * kInFlight * kPerTask);
}
BENCHMARK(BM_ExecutorNop)->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);

void BM_RawUringNop(benchmark::State& state) {
  io_uring ring;
  if (io_uring_queue_init(64, &ring, 0) < 0) {
    state.SkipWithError("io_uring unavailable");
    return;
  }
  const long per_iter = static_cast<long>(kInFlight) * kPerTask;
  for (auto _ : state) {
    long started = 0, done = 0;
    for (; started < kInFlight; ++started) io_uring_prep_nop(io_uring_get_sqe(&ring));
    while (done < per_iter) {
      io_uring_submit_and_wait(&ring, 1);
      unsigned head, seen = 0;
      io_uring_cqe* cqe;
      io_uring_for_each_cqe(&ring, head, cqe) {
        ++seen;
        ++done;
        if (started < per_iter) {
          io_uring_prep_nop(io_uring_get_sqe(&ring));
          ++started;
        }
      }
      io_uring_cq_advance(&ring, seen);
    }
  }
  state.SetItemsProcessed(state.iterations() * per_iter);
  io_uring_queue_exit(&ring);
}
BENCHMARK(BM_RawUringNop)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
