// Firmware test: spawning and joining on the target, frame-pool exhaustion reported as an error
// (and recovered from), an image-defined pool set, and a long chain of synchronously completing
// awaits that keeps the stack flat.
#include <cstdint>

#include <executor/cortexm/executor.hpp>
#include <executor/cortexm/frame_pool.hpp>
#include <executor/cortexm/irq.hpp>
#include <executor/join_handle.hpp>
#include <executor/task.hpp>
#include <executor/yield.hpp>

#include "test_support.hpp"

// This image's own size classes (replacing the runtime's default set).
EXECUTOR_CORTEXM_FRAME_POOLS(executor::cortexm::FramePoolSpec{64, 12},
                             executor::cortexm::FramePoolSpec{128, 6},
                             executor::cortexm::FramePoolSpec{512, 2})

namespace {

using executor::JoinHandle;
using executor::Task;
namespace cm = executor::cortexm;

constexpr unsigned kIrq = 28;

Task<int> square(int x) {
  co_return x* x;
}

Task<int> sum_of_squares(int n) {
  int sum = 0;
  for (int i = 1; i <= n; ++i) {
    auto r = cm::try_spawn(square(i));
    CHECK(r);
    sum += co_await std::move(r.handle);
  }
  co_return sum;
}

Task<void> park() {
  co_await cm::wait_irq(kIrq);
}

struct Counted {
  int* destroyed;
  explicit Counted(int* d) : destroyed(d) {}
  Counted(Counted&& o) noexcept : destroyed(o.destroyed) { o.destroyed = nullptr; }
  ~Counted() {
    if (destroyed != nullptr) ++*destroyed;
  }
};

Task<void> take_counted(Counted) {
  co_return;
}

// Fill the pools with parked tasks until try_spawn says kOutOfFrames; then release them all
// and spawn again.
Task<void> exhaustion() {
  JoinHandle<void> parked[32];
  int n = 0;
  cm::SpawnError error = cm::SpawnError::kNone;
  for (; n < 32; ++n) {
    auto r = cm::try_spawn(park());
    if (!r) {
      error = r.error;
      CHECK(!r.handle.valid());
      break;
    }
    parked[n] = std::move(r.handle);
  }
  CHECK(error == cm::SpawnError::kOutOfFrames);
  CHECK(n >= 4);
  CHECK(cm::frame_pool_table().failures() > 0);

  int destroyed = 0;
  {
    auto r = cm::try_spawn(take_counted, Counted(&destroyed));
    CHECK(r.error == cm::SpawnError::kOutOfFrames);
  }
  CHECK_EQ(destroyed, 1);  // the argument was not leaked

  co_await executor::yield_now();  // every parked task reaches its wait
  CHECK_EQ(cm::irq_wakers(kIrq).size(), static_cast<std::size_t>(n));
  cm::pend_irq(kIrq);
  for (int i = 0; i < n; ++i) co_await std::move(parked[i]);
  CHECK_EQ(co_await sum_of_squares(4), 30);
}

Task<int> one() {
  co_return 1;
}

Task<std::int32_t> many_awaits(std::int32_t n) {
  std::int32_t sum = 0;
  for (std::int32_t i = 0; i < n; ++i) sum += co_await one();
  co_return sum;
}

}  // namespace

int main() {
  auto& ex = cm::executor();
  CHECK_EQ(ex.block_on(sum_of_squares(10)), 385);
  CHECK_CLEAN();
  test::pass("spawn and join");

  const std::size_t failures_before = cm::frame_pool_table().failures();
  ex.block_on(exhaustion());
  CHECK_CLEAN();
  CHECK(cm::frame_pool_table().failures() > failures_before);
  test::pass("spawn beyond capacity reports kOutOfFrames and recovers");

  CHECK_EQ(ex.block_on(many_awaits(200000)), 200000);
  CHECK_CLEAN();
  CHECK(cm::stack_high_water() < 1024);
  test::pass("200000 synchronous awaits keep the stack flat");
  test::report_resources();
  return 0;
}
