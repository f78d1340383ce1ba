// ping_pong (BENCHMARKS.md): two tasks pass a value back and forth over a pair of channels
// 1,000,000 times on 2 workers. Figure: round trips/s.
//
//   ./build/release/bench/sync_ping_pong_bench
//
// Variants: bounded mpsc channels of capacity 1 (the workload as specified, 2 workers), and
// Handoff pairs (a storage-free rendezvous; single-threaded by design, so 1 worker).
#include <benchmark/benchmark.h>

#include <executor/executor.hpp>
#include <executor/sync/handoff.hpp>
#include <executor/sync/mpsc.hpp>

#include "sync_bench_util.hpp"

namespace {

using executor::Task;
namespace mpsc = executor::sync::mpsc;

constexpr long kRoundTrips = 1'000'000;

Task<void> mpsc_pong(mpsc::Receiver<long>* in, mpsc::Sender<long>* out) {
  while (auto v = co_await in->recv()) {
    long next = *v + 1;
    if (!co_await out->send(std::move(next))) co_return;
  }
}

Task<long> mpsc_ping(long n) {
  auto [to_pong, pong_in] = mpsc::channel<long>(1);
  auto [to_ping, ping_in] = mpsc::channel<long>(1);
  auto pong = executor::spawn(mpsc_pong(&pong_in, &to_ping));
  long v = 0;
  for (long i = 0; i < n; ++i) {
    long out = v;
    (void)co_await to_pong.send(std::move(out));
    v = *co_await ping_in.recv();
  }
  to_pong = mpsc::Sender<long>();  // ends pong
  co_await std::move(pong);
  co_return v;
}

void BM_PingPongMpsc(benchmark::State& state) {
  executor::Runtime rt({.workers = 2});
  for (auto _ : state) {
    executor::bench::Stopwatch sw;
    long v = rt.block_on(mpsc_ping(kRoundTrips));
    double s = sw.seconds();
    if (v != kRoundTrips) state.SkipWithError("wrong result");
    state.SetIterationTime(s);
    executor::bench::report("ping_pong", kRoundTrips, s);
  }
  state.counters["round_trips_per_s"] =
      benchmark::Counter(static_cast<double>(kRoundTrips) * static_cast<double>(state.iterations()),
                         benchmark::Counter::kIsRate);
}
BENCHMARK(BM_PingPongMpsc)
    ->Iterations(1)
    ->Repetitions(5)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);

using executor::sync::Handoff;
using executor::sync::Popper;
using executor::sync::Pusher;

Task<void> handoff_pong(Popper<long>* in, Pusher<long>* out) {
  while (auto v = co_await in->pop()) {
    long next = *v + 1;
    if (!co_await out->push(std::move(next))) co_return;
  }
}

Task<long> handoff_ping(long n) {
  Handoff<long> a, b;
  auto [a_push, a_pop] = a.split();
  auto [b_push, b_pop] = b.split();
  auto pong = executor::spawn(handoff_pong(&a_pop, &b_push));
  long v = 0;
  for (long i = 0; i < n; ++i) {
    long out = v;
    (void)co_await a_push.push(std::move(out));
    v = *co_await b_pop.pop();
  }
  a_push = Pusher<long>();
  co_await std::move(pong);
  co_return v;
}

void BM_PingPongHandoff1Worker(benchmark::State& state) {
  executor::Runtime rt({.workers = 1});
  for (auto _ : state) {
    executor::bench::Stopwatch sw;
    long v = rt.block_on(handoff_ping(kRoundTrips));
    double s = sw.seconds();
    if (v != kRoundTrips) state.SkipWithError("wrong result");
    state.SetIterationTime(s);
    executor::bench::report("ping_pong_handoff_1worker", kRoundTrips, s);
  }
  state.counters["round_trips_per_s"] =
      benchmark::Counter(static_cast<double>(kRoundTrips) * static_cast<double>(state.iterations()),
                         benchmark::Counter::kIsRate);
}
BENCHMARK(BM_PingPongHandoff1Worker)
    ->Iterations(1)
    ->Repetitions(5)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
