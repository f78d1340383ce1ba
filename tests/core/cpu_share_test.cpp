// Adaptive spreading's reading of the machine (runtime/linux/cpu_share.hpp): when one more
// awake worker would take a CPU from another process's thread, and when the awake workers
// already do; and the parsing of /proc/loadavg's running-thread count.
#include "cpu_share.hpp"

#include <gtest/gtest.h>

namespace {

using executor::detail::assess_cpus;
using executor::detail::loadavg_running;

TEST(CpuShare, QuietMachineSpreads) {
  // One worker awake (counted in running), nothing else: the other CPU is idle.
  auto s = assess_cpus(/*running=*/1, /*ours=*/1, /*cpus=*/2);
  EXPECT_FALSE(s.busy);
  EXPECT_FALSE(s.crowded);
  // Both awake and alone: neither waits for a CPU.
  s = assess_cpus(2, 2, 2);
  EXPECT_FALSE(s.busy);
  EXPECT_FALSE(s.crowded);
}

TEST(CpuShare, OneOtherThreadKeepsItsCpu) {
  // tcp_echo: the load generator runs on one CPU, one worker on the other.
  auto s = assess_cpus(2, 1, 2);
  EXPECT_TRUE(s.busy);
  EXPECT_FALSE(s.crowded);
  // Two workers and the load generator on two CPUs: one worker should make room.
  s = assess_cpus(3, 2, 2);
  EXPECT_TRUE(s.busy);
  EXPECT_TRUE(s.crowded);
  // The completion thread awake too (ours = 3): still one other thread.
  s = assess_cpus(4, 3, 2);
  EXPECT_TRUE(s.busy);
  EXPECT_TRUE(s.crowded);
}

TEST(CpuShare, OthersFillingEveryCpuLeaveNothingToProtect) {
  // A build on both CPUs: the workers take their fair share, as with eager spreading.
  auto s = assess_cpus(6, 2, 2);
  EXPECT_FALSE(s.busy);
  EXPECT_FALSE(s.crowded);
  s = assess_cpus(3, 1, 2);
  EXPECT_FALSE(s.busy);
}

TEST(CpuShare, LargerMachines) {
  // 8 CPUs, 3 other threads: 5 workers fit, a 6th would crowd.
  EXPECT_FALSE(assess_cpus(7, 4, 8).busy);
  EXPECT_TRUE(assess_cpus(8, 5, 8).busy);
  EXPECT_FALSE(assess_cpus(8, 5, 8).crowded);
  EXPECT_TRUE(assess_cpus(9, 6, 8).crowded);
  // A single awake worker never sheds (there is nobody to hand its work to).
  EXPECT_FALSE(assess_cpus(8, 1, 8).crowded);
}

TEST(CpuShare, StaleCountsDoNotUnderflow) {
  // Our hints may count more awake threads than the kernel saw running.
  auto s = assess_cpus(1, 3, 2);
  EXPECT_FALSE(s.busy);
  EXPECT_FALSE(s.crowded);
}

TEST(CpuShare, ParsesLoadavg) {
  EXPECT_EQ(loadavg_running("0.52 0.58 0.59 3/412 12345\n"), 3u);
  EXPECT_EQ(loadavg_running("12.00 9.10 4.33 17/1024 99"), 17u);
  EXPECT_FALSE(loadavg_running("").has_value());
  EXPECT_FALSE(loadavg_running("garbage").has_value());
  EXPECT_FALSE(loadavg_running("1 2 3").has_value());
  EXPECT_FALSE(loadavg_running("1 2 3 x/5 6").has_value());
  EXPECT_FALSE(loadavg_running("1 2 3 4 5").has_value());  // no '/'
}

}  // namespace
