// Boost.Asio baseline (io_uring backend, C++20 coroutines, 2 threads) of the loop workloads of
// ../shared/BENCHMARKS.md, with the same names and parameters as executor's binaries:
//   spawn_join, spawn_join_batched   bench/core_spawn_join_bench.cpp
//   yield                            bench/core_yield_bench.cpp
//   ping_pong                        bench/sync_ping_pong_bench.cpp
//   mutex                            bench/sync_mutex_bench.cpp
//   file_read                        bench/runtime_file_read_bench.cpp
// io_nop has no Asio equivalent (Asio exposes no io_uring NOP).
//
// file_read uses asio::random_access_file (io_uring file operations). Asio I/O objects may not
// be used from two threads at once, so each of the 32 reading coroutines gets its own
// random_access_file (a dup of one descriptor), opened once, outside the timed runs.
//
// Asio has no async mutex and no mpsc channel type of its own name; the equivalents a user
// would write are its thread-safe concurrent_channel: ping_pong uses two of capacity 1 (like
// executor's bounded mpsc channels of capacity 1), and the mutex is a capacity-1 channel holding
// one token (lock = receive the token, unlock = send it back).
#include <unistd.h>

#include <cstdint>
#include <memory>
#include <tuple>
#include <vector>

#include <boost/asio/experimental/as_tuple.hpp>

#include "asio_context.hpp"
#include "common/data_file.hpp"
#include "common/harness.hpp"

#if !defined(BOOST_ASIO_HAS_FILE)
#error "the Asio file_read baseline needs asio::random_access_file (BOOST_ASIO_HAS_FILE)"
#endif

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

constexpr std::int64_t kRoundTrips = 1'000'000;
using ValueChannel =
    asio::experimental::concurrent_channel<void(boost::system::error_code, std::int64_t)>;

asio::awaitable<void> pong(ValueChannel& in, ValueChannel& out) {
  for (;;) {
    auto [ec, v] = co_await in.async_receive(asio::experimental::as_tuple(asio::use_awaitable));
    if (ec) co_return;  // closed: the ping side is done
    co_await out.async_send(boost::system::error_code{}, v + 1, asio::use_awaitable);
  }
}

asio::awaitable<std::int64_t> ping_pong(std::int64_t n) {
  auto ex = co_await asio::this_coro::executor;
  ValueChannel to_pong(ex, 1);
  ValueChannel to_ping(ex, 1);
  Latch pong_done(ex, 1);
  asio::co_spawn(ex, pong(to_pong, to_ping),
                 [&pong_done](std::exception_ptr) { pong_done.arrive(); });
  std::int64_t v = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    co_await to_pong.async_send(boost::system::error_code{}, v, asio::use_awaitable);
    v = co_await to_ping.async_receive(asio::use_awaitable);
  }
  to_pong.close();
  co_await pong_done.wait();
  co_return v;
}

constexpr int kMutexTasks = 8;
constexpr int kMutexPerTask = 100'000;
using TokenChannel = asio::experimental::concurrent_channel<void(boost::system::error_code)>;

asio::awaitable<void> incrementer(TokenChannel& lock, std::int64_t& counter, int n) {
  for (int i = 0; i < n; ++i) {
    co_await lock.async_receive(asio::use_awaitable);  // lock: take the token
    ++counter;
    lock.try_send(boost::system::error_code{});  // unlock: give it back (never full)
  }
}

asio::awaitable<std::int64_t> mutex_contended() {
  auto ex = co_await asio::this_coro::executor;
  TokenChannel lock(ex, 1);
  lock.try_send(boost::system::error_code{});  // the mutex starts unlocked
  std::int64_t counter = 0;
  Latch latch(ex, kMutexTasks);
  for (int i = 0; i < kMutexTasks; ++i) {
    asio::co_spawn(ex, incrementer(lock, counter, kMutexPerTask),
                   [&latch](std::exception_ptr) { latch.arrive(); });
  }
  co_await latch.wait();
  co_return counter;
}

constexpr int kReadStreams = bench::kReadStreams;

// Stream s: one 4 KiB buffer, one read in flight at a time, the offsets bench::Offsets(s + 1)
// yields (the same streams as executor's tasks and the raw ring's slots).
asio::awaitable<std::int64_t> read_stream(asio::random_access_file& f, unsigned s,
                                          std::int64_t reads) {
  bench::Offsets offsets(s + 1);
  auto buf = std::make_unique<char[]>(bench::kBlockSize);
  std::int64_t ok = 0;
  for (std::int64_t i = 0; i < reads; ++i) {
    auto [ec, n] =
        co_await f.async_read_some_at(offsets.next(), asio::buffer(buf.get(), bench::kBlockSize),
                                      asio::experimental::as_tuple(asio::use_awaitable));
    if (!ec && n == bench::kBlockSize) ++ok;
  }
  co_return ok;
}

asio::awaitable<std::int64_t> file_reads(std::vector<asio::random_access_file>& files,
                                         std::int64_t reads) {
  auto ex = co_await asio::this_coro::executor;
  std::vector<std::int64_t> oks(kReadStreams, 0);
  Latch latch(ex, kReadStreams);
  for (unsigned s = 0; s < kReadStreams; ++s) {
    asio::co_spawn(ex, read_stream(files[s], s, reads / kReadStreams),
                   [&oks, &latch, s](std::exception_ptr, std::int64_t n) {
                     oks[s] = n;
                     latch.arrive();
                   });
  }
  co_await latch.wait();
  std::int64_t total = 0;
  for (std::int64_t n : oks) total += n;
  co_return total;
}

}  // namespace

int main(int argc, char** argv) {
  Pool pool(static_cast<int>(bench::workers()));
  std::vector<asio::random_access_file> files;  // opened on first use only
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
          {"ping_pong", kRoundTrips, 5,
           [&] {
             bench::check(pool.block_on(ping_pong(kRoundTrips)) == kRoundTrips, "count");
           }},
          {"mutex", std::int64_t{kMutexTasks} * kMutexPerTask, 5,
           [&] {
             bench::check(
                 pool.block_on(mutex_contended()) == std::int64_t{kMutexTasks} * kMutexPerTask,
                 "lost increments");
           }},
          {"yield", std::int64_t{kYieldTasks} * kYields, 3,
           [&] {
             bench::check(pool.block_on(yield_all()) == std::int64_t{kYieldTasks} * kYields,
                          "yield count");
           }},
          {"file_read", bench::kReadsPerIteration, 3,
           [&] {
             if (files.empty()) {
               int fd = bench::open_data_file();
               for (int s = 0; s < kReadStreams; ++s) {
                 files.emplace_back(pool.context(), ::dup(fd));
               }
               ::close(fd);
             }
             std::int64_t n = bench::scaled_ops(bench::kReadsPerIteration, kReadStreams);
             bench::check(pool.block_on(file_reads(files, n)) == n, "read results");
           },
           kReadStreams},
      });
}
