// The timing wheel alone (runtime/linux/timer_wheel.hpp): firing 100,000 timers whose nodes live
// in scattered "frames" that are not in cache, as in the timers workload (each TimerNode sits in
// a suspended coroutine frame). The figure is the time per fired timer of one poll() over
// deadlines spread across 10 ms (about 150 level-0 slots and a cascade), i.e. the walk the
// completion thread or a worker does under the timer lock.
//
//   build/release/bench/runtime_timer_wheel_bench
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <random>
#include <vector>

#include "timer_wheel.hpp"

namespace {

using executor::detail::TimerNode;
using executor::detail::TimerWheel;
using Clock = std::chrono::steady_clock;

constexpr int kTimers = 100'000;

// About the size of the timers workload's sleeper frame, with the node in the middle.
struct Frame {
  unsigned char before[64];
  TimerNode node;
  unsigned char after[96];
};

void BM_FireScatteredTimers(benchmark::State& state) {
  // 4x more frames than timers, shuffled: the nodes are spread over ~80 MB like frames recycled
  // by the allocator, not laid out in insertion order.
  std::vector<std::unique_ptr<Frame>> pool;
  pool.reserve(4 * kTimers);
  for (int i = 0; i < 4 * kTimers; ++i) pool.push_back(std::make_unique<Frame>());
  std::vector<Frame*> frames;
  for (auto& f : pool) frames.push_back(f.get());
  std::mt19937 rng(1);
  std::shuffle(frames.begin(), frames.end(), rng);
  frames.resize(kTimers);
  std::vector<unsigned char> flush(64u << 20);
  auto wheel = std::make_unique<TimerWheel>();
  Clock::time_point base = Clock::now();
  std::int64_t round = 0;
  std::int64_t fired = 0;
  for (auto _ : state) {
    state.PauseTiming();
    Clock::time_point t0 = base + std::chrono::hours(++round);
    wheel->poll(t0, [](TimerNode*) {});
    for (int i = 0; i < kTimers; ++i) {
      frames[static_cast<std::size_t>(i)]->node.deadline =
          t0 + std::chrono::milliseconds(10) + std::chrono::nanoseconds(std::int64_t{i} * 100);
      wheel->insert(&frames[static_cast<std::size_t>(i)]->node);
    }
    for (std::size_t j = 0; j < flush.size(); j += 64) flush[j] = static_cast<unsigned char>(j);
    benchmark::ClobberMemory();
    state.ResumeTiming();
    std::size_t n = wheel->poll(t0 + std::chrono::milliseconds(30),
                                [](TimerNode* t) { benchmark::DoNotOptimize(t->waker.task()); });
    fired += static_cast<std::int64_t>(n);
  }
  state.SetItemsProcessed(fired);
  state.counters["ns_per_timer"] = benchmark::Counter(
      static_cast<double>(fired), benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_FireScatteredTimers)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(30);

}  // namespace

BENCHMARK_MAIN();
