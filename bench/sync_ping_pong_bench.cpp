// Workload `ping_pong` (../shared/BENCHMARKS.md): two tasks pass a value back and forth over a
// pair of channels 1,000,000 times; the figure is round trips per second. 2 worker threads
// (bench::workers()), bounded mpsc channels of capacity 1.
//
// Extra workload `ping_pong_handoff`: the same over a pair of Handoffs (storage-free
// rendezvous; single-threaded by design, so on a 1-worker runtime).
//
//   ./build/release/bench/sync_ping_pong_bench [--benchmark_filter=^ping_pong/]
#include <executor/executor.hpp>
#include <executor/sync/handoff.hpp>
#include <executor/sync/mpsc.hpp>

#include <cstdint>

#include "common/harness.hpp"

namespace {

using executor::Task;
namespace mpsc = executor::sync::mpsc;
using executor::sync::Handoff;
using executor::sync::Popper;
using executor::sync::Pusher;

constexpr std::int64_t kRoundTrips = 1'000'000;

Task<void> mpsc_pong(mpsc::Receiver<std::int64_t>* in, mpsc::Sender<std::int64_t>* out) {
  while (auto v = co_await in->recv()) {
    std::int64_t next = *v + 1;
    if (!co_await out->send(std::move(next))) co_return;
  }
}

Task<std::int64_t> mpsc_ping(std::int64_t n) {
  auto [to_pong, pong_in] = mpsc::channel<std::int64_t>(1);
  auto [to_ping, ping_in] = mpsc::channel<std::int64_t>(1);
  auto pong = executor::spawn(mpsc_pong(&pong_in, &to_ping));
  std::int64_t v = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    std::int64_t out = v;
    (void)co_await to_pong.send(std::move(out));
    v = *co_await ping_in.recv();
  }
  to_pong = mpsc::Sender<std::int64_t>();  // ends pong
  co_await std::move(pong);
  co_return v;
}

Task<void> handoff_pong(Popper<std::int64_t>* in, Pusher<std::int64_t>* out) {
  while (auto v = co_await in->pop()) {
    std::int64_t next = *v + 1;
    if (!co_await out->push(std::move(next))) co_return;
  }
}

Task<std::int64_t> handoff_ping(std::int64_t n) {
  Handoff<std::int64_t> a, b;
  auto [a_push, a_pop] = a.split();
  auto [b_push, b_pop] = b.split();
  auto pong = executor::spawn(handoff_pong(&a_pop, &b_push));
  std::int64_t v = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    std::int64_t out = v;
    (void)co_await a_push.push(std::move(out));
    v = *co_await b_pop.pop();
  }
  a_push = Pusher<std::int64_t>();
  co_await std::move(pong);
  co_return v;
}

}  // namespace

int main(int argc, char** argv) {
  executor::Runtime one({.workers = 1});
  executor::Runtime rt({.workers = bench::workers()});
  return bench::run_main(
      argc, argv, "executor",
      {
          {"ping_pong", kRoundTrips, 5,
           [&] {
             bench::check(rt.block_on(mpsc_ping(kRoundTrips)) == kRoundTrips, "count");
           }},
          {"ping_pong_handoff", kRoundTrips, 5,
           [&] {
             bench::check(one.block_on(handoff_ping(kRoundTrips)) == kRoundTrips, "count");
           }},
      });
}
