// The Boost.Asio baseline's runtime: one io_context run by 2 threads (bench::workers()), io_uring
// as its backend (BOOST_ASIO_HAS_IO_URING + BOOST_ASIO_DISABLE_EPOLL, set by bench/extra.cmake),
// C++20 coroutines (asio::awaitable). This is what a C++ user would pick instead of executor.
#pragma once

#include <boost/asio.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>

#include <atomic>
#include <exception>
#include <future>
#include <thread>
#include <utility>
#include <vector>

#include "common/workers.hpp"

namespace bench::asio_baseline {

namespace asio = boost::asio;

#if !defined(BOOST_ASIO_HAS_IO_URING) || !defined(BOOST_ASIO_HAS_IO_URING_AS_DEFAULT)
#error "the Asio baseline must be built with io_uring as its default backend"
#endif

class Pool {
 public:
  explicit Pool(int threads) : ctx_(threads), guard_(asio::make_work_guard(ctx_)) {
    for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { ctx_.run(); });
  }
  ~Pool() {
    guard_.reset();
    ctx_.stop();
    for (auto& t : threads_) t.join();
  }
  asio::io_context& context() noexcept { return ctx_; }

  // Runs `a` on the pool and blocks until it finishes; returns its value, rethrows its error.
  template <class T>
  T block_on(asio::awaitable<T> a) {
    std::promise<T> p;
    auto f = p.get_future();
    asio::co_spawn(ctx_, std::move(a), [&p](std::exception_ptr e, auto... v) {
      if (e) {
        p.set_exception(e);
      } else {
        p.set_value(std::move(v)...);
      }
    });
    return f.get();
  }

 private:
  asio::io_context ctx_;
  asio::executor_work_guard<asio::io_context::executor_type> guard_;
  std::vector<std::thread> threads_;
};

// Asio has no join handle. The cheapest correct way to await N spawned coroutines from a
// coroutine on a multi-threaded io_context: each completion handler stores its result and
// counts down; the last one signals a thread-safe channel the spawner awaits.
class Latch {
 public:
  Latch(asio::any_io_executor ex, int n) : remaining_(n), done_(ex, 1) {}
  void arrive() {
    // acq_rel: the last arriver sees every other arriver's result writes, and the channel
    // hands them to the waiter.
    if (remaining_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      done_.try_send(boost::system::error_code{});
    }
  }
  asio::awaitable<void> wait() { co_await done_.async_receive(asio::use_awaitable); }

 private:
  std::atomic<int> remaining_;
  asio::experimental::concurrent_channel<void(boost::system::error_code)> done_;
};

}  // namespace bench::asio_baseline
