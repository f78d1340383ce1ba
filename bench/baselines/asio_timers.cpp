// Boost.Asio baseline of the `timers` workload (io_uring backend, C++20 coroutines, 2 threads):
// 100,000 coroutines each wait 10 ms on their own steady_timer, all at once. Same figures as
// bench/programs/timers_executor.cpp.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <vector>

#include "asio_context.hpp"
#include "common/timers_report.hpp"

namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using bench::asio_baseline::Latch;
using bench::asio_baseline::Pool;

constexpr int kTasks = 100'000;

asio::awaitable<std::int64_t> sleeper() {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  Clock::time_point deadline = Clock::now() + 10ms;
  timer.expires_at(deadline);
  co_await timer.async_wait(asio::use_awaitable);
  co_return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - deadline).count();
}

struct Overshoot {
  std::int64_t sum_ns = 0;
  std::int64_t max_ns = 0;
};

asio::awaitable<Overshoot> sleep_all() {
  auto ex = co_await asio::this_coro::executor;
  std::vector<std::int64_t> results(kTasks, 0);
  Latch latch(ex, kTasks);
  for (int i = 0; i < kTasks; ++i) {
    asio::co_spawn(ex, sleeper(), [&results, &latch, i](std::exception_ptr, std::int64_t ns) {
      results[static_cast<std::size_t>(i)] = ns;
      latch.arrive();
    });
  }
  co_await latch.wait();
  Overshoot o;
  for (std::int64_t ns : results) {
    o.sum_ns += ns;
    o.max_ns = std::max(o.max_ns, ns);
  }
  co_return o;
}

}  // namespace

int main(int argc, char** argv) {
  Pool pool(static_cast<int>(bench::workers()));
  return bench::timers_main(argc, argv, "asio", kTasks, [&] {
    auto start = Clock::now();
    Overshoot o = pool.block_on(sleep_all());
    auto end = Clock::now();
    return bench::TimersRun{std::chrono::duration<double>(end - start).count(),
                            static_cast<double>(o.sum_ns) / kTasks / 1e6,
                            static_cast<double>(o.max_ns) / 1e6};
  });
}
