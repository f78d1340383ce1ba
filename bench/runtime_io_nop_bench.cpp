// Workload `io_nop` (../shared/BENCHMARKS.md): io_uring NOPs submitted and completed through the
// runtime, 32 in flight: 32 tasks each await NOPs one after another (every NOP goes worker ->
// completion thread -> ring -> completion thread -> worker). 2 worker threads.
//
// The baseline is the raw single-thread liburing loop in bench/baselines/uring_workloads.cpp.
#include <executor/executor.hpp>

#include <coroutine>
#include <cstdint>
#include <vector>

#include <executor/detail/io_op.hpp>

#include "common/harness.hpp"

namespace {

constexpr int kInFlight = 32;
constexpr int kOps = 1'000'000;
constexpr int kPerTask = kOps / kInFlight;

// One NOP round trip. The awaiter (in the awaiting frame) owns the IoOp until `complete` has
// run; the benchmark never cancels a task, so the frame outlives every operation it submits.
class NopAwaiter {
 public:
  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> h) {
    op_.prep = &executor::detail::prep_nop;
    op_.complete = &on_complete;
    op_.waker = executor::detail::Waker::current(h);
    executor::detail::submit_io(&op_);  // publishes the waker: the last thing we do
  }
  int await_resume() const noexcept { return op_.res; }

 private:
  struct Op : executor::detail::IoOp {
    executor::detail::Waker waker;
    int res = -1;
  };
  static void on_complete(executor::detail::IoOp* base, int res, std::uint32_t) noexcept {
    auto* op = static_cast<Op*>(base);
    op->res = res;
    executor::detail::Waker w = static_cast<executor::detail::Waker&&>(op->waker);
    w.wake();  // the frame (and `op`) may be gone after this
  }
  Op op_;
};

executor::Task<int> nop_loop() {
  int ok = 0;
  for (int i = 0; i < kPerTask; ++i) ok += (co_await NopAwaiter{}) == 0 ? 1 : 0;
  co_return ok;
}

executor::Task<std::int64_t> nops() {
  std::vector<executor::JoinHandle<int>> handles;
  for (int i = 0; i < kInFlight; ++i) handles.push_back(executor::spawn(nop_loop()));
  std::int64_t ok = 0;
  for (auto& h : handles) ok += co_await h.join();
  co_return ok;
}

}  // namespace

int main(int argc, char** argv) {
  executor::Runtime rt({.workers = 2});
  return bench::run_main(
      argc, argv, "executor",
      {
          {"io_nop", std::int64_t{kPerTask} * kInFlight, 3,
           [&] {
             bench::check(rt.block_on(nops()) == std::int64_t{kPerTask} * kInFlight, "nop results");
           }},
      });
}
