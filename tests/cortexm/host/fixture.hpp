// Shared fixture of the host tests of the Cortex-M executor: a fresh simulated machine per test,
// and a teardown that cancels what is left and checks that nothing leaked (frames, timer nodes,
// waker list nodes).
#pragma once

#include <gtest/gtest.h>

#include <executor/cortexm/clock.hpp>
#include <executor/cortexm/executor.hpp>
#include <executor/cortexm/frame_pool.hpp>
#include <executor/cortexm/irq.hpp>
#include <executor/cortexm/sleep.hpp>

#include "sim_port.hpp"
#include "timer.hpp"

namespace cortexm_test {

inline std::int64_t ticks() {
  return executor::cortexm::TickClock::now().time_since_epoch().count();
}

class CortexM : public ::testing::Test {
 protected:
  void SetUp() override {
    sim::reset();
    executor::cortexm::internal::reset_timers_for_test();
    executor::cortexm::start_tick(25'000'000);
  }
  void TearDown() override {
    auto& ex = executor::cortexm::executor();
    ex.shutdown();
    EXPECT_EQ(ex.live_tasks(), 0u);
    EXPECT_EQ(ex.ready_tasks(), 0u);
    EXPECT_EQ(executor::cortexm::frame_pool_table().in_use(), 0u) << "frames leaked";
    EXPECT_EQ(executor::cortexm::internal::timers_queued(), 0u);
    for (unsigned irq = 0; irq < executor::cortexm::kNumIrqs; ++irq) {
      EXPECT_TRUE(executor::cortexm::irq_wakers(irq).empty()) << "irq " << irq;
    }
    EXPECT_FALSE(sim::masked());
    sim::reset();
  }
};

}  // namespace cortexm_test
