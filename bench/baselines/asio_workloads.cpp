// Boost.Asio baseline (io_uring backend, C++20 coroutines, 2 threads) of the loop workloads of
// ../shared/BENCHMARKS.md, with the same names and parameters as executor's binaries:
//   spawn_join, spawn_join_batched   bench/core_spawn_join_bench.cpp
//   yield                            bench/core_yield_bench.cpp
// io_nop has no Asio equivalent (Asio exposes no io_uring NOP).
#include <cstdint>
#include <vector>

#include "asio_context.hpp"
#include "common/harness.hpp"

namespace {

namespace asio = boost::asio;
using bench::asio_baseline::Latch;
using bench::asio_baseline::Pool;

constexpr int kTasks = 1'000'000;
constexpr int kBatch = 1'000;
constexpr std::int64_t kExpectedSum = std::int64_t{kTasks} * (kTasks - 1) / 2;

asio::awaitable<int> trivial(int i) {
  co_return i;
}

// Spawns tasks [base, base + n) and awaits all of them; returns the sum of their results.
asio::awaitable<std::int64_t> spawn_and_join(int base, int n, std::vector<int>& results) {
  auto ex = co_await asio::this_coro::executor;
  results.assign(static_cast<std::size_t>(n), 0);
  Latch latch(ex, n);
  for (int i = 0; i < n; ++i) {
    asio::co_spawn(ex, trivial(base + i), [&results, &latch, i](std::exception_ptr, int v) {
      results[static_cast<std::size_t>(i)] = v;
      latch.arrive();
    });
  }
  co_await latch.wait();
  std::int64_t sum = 0;
  for (int v : results) sum += v;
  co_return sum;
}

asio::awaitable<std::int64_t> spawn_then_join_all() {
  std::vector<int> results;
  co_return co_await spawn_and_join(0, kTasks, results);
}

asio::awaitable<std::int64_t> spawn_join_in_batches() {
  std::vector<int> results;
  std::int64_t sum = 0;
  for (int base = 0; base < kTasks; base += kBatch) {
    sum += co_await spawn_and_join(base, kBatch, results);
  }
  co_return sum;
}

constexpr int kYieldTasks = 1'000;
constexpr int kYields = 1'000;

asio::awaitable<int> yielder() {
  auto ex = co_await asio::this_coro::executor;
  int n = 0;
  for (int i = 0; i < kYields; ++i) {
    co_await asio::post(ex, asio::use_awaitable);  // Asio's yield: re-queue and resume
    ++n;
  }
  co_return n;
}

asio::awaitable<std::int64_t> yield_all() {
  auto ex = co_await asio::this_coro::executor;
  std::vector<int> counts(kYieldTasks, 0);
  Latch latch(ex, kYieldTasks);
  for (int i = 0; i < kYieldTasks; ++i) {
    asio::co_spawn(ex, yielder(), [&counts, &latch, i](std::exception_ptr, int n) {
      counts[static_cast<std::size_t>(i)] = n;
      latch.arrive();
    });
  }
  co_await latch.wait();
  std::int64_t total = 0;
  for (int n : counts) total += n;
  co_return total;
}

}  // namespace

int main(int argc, char** argv) {
  Pool pool(2);
  return bench::run_main(
      argc, argv, "asio",
      {
          {"spawn_join", kTasks, 3,
           [&] {
             bench::check(pool.block_on(spawn_then_join_all()) == kExpectedSum, "sum");
           }},
          {"spawn_join_batched", kTasks, 3,
           [&] {
             bench::check(pool.block_on(spawn_join_in_batches()) == kExpectedSum, "sum");
           }},
          {"yield", std::int64_t{kYieldTasks} * kYields, 3,
           [&] {
             bench::check(pool.block_on(yield_all()) == std::int64_t{kYieldTasks} * kYields,
                          "yield count");
           }},
      });
}
