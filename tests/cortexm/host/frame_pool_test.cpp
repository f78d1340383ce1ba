// Host tests of the fixed frame pools behind detail::allocate_frame/free_frame.
#include <gtest/gtest.h>

#include <cstddef>
#include <vector>

#include <executor/cortexm/frame_pool.hpp>
#include <executor/detail/frame_allocator.hpp>

#include "fixture.hpp"

namespace {

using cortexm_test::CortexM;
namespace cm = executor::cortexm;
namespace d = executor::detail;

// A private pool set, to test the class on its own (the allocator uses the image's table).
cm::FramePools<cm::FramePoolSpec{32, 2}, cm::FramePoolSpec{64, 1}> g_local;

TEST(FramePool, BumpThenFreeListAndStatistics) {
  cm::FramePool& small = g_local.table()[0];
  EXPECT_EQ(small.block_size(), 32u);
  EXPECT_EQ(small.capacity(), 2u);
  void* a = small.try_allocate();
  void* b = small.try_allocate();
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(static_cast<std::byte*>(b) - static_cast<std::byte*>(a), 32);
  EXPECT_EQ(small.try_allocate(), nullptr);
  EXPECT_EQ(small.in_use(), 2u);
  EXPECT_TRUE(small.owns(a));
  EXPECT_FALSE(g_local.table()[1].owns(a));
  small.release(a);
  EXPECT_EQ(small.in_use(), 1u);
  EXPECT_EQ(small.try_allocate(), a) << "a released block is reused first";
  small.release(a);
  small.release(b);
  EXPECT_EQ(small.in_use(), 0u);
  EXPECT_EQ(small.high_water(), 2u);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(a) % cm::kFrameAlign, 0u);
}

TEST_F(CortexM, AllocatorPicksTheSmallestFittingClassAndFallsThrough) {
  cm::FramePoolTable& t = cm::frame_pool_table();
  ASSERT_EQ(t[0].block_size(), 64u);
  void* p = d::allocate_frame(40);
  ASSERT_NE(p, nullptr);
  EXPECT_TRUE(t[0].owns(p));
  void* q = d::allocate_frame(65);
  EXPECT_TRUE(t[1].owns(q));
  // Exhaust the 64-byte class: the next small request falls through to 128 bytes.
  std::vector<void*> blocks;
  while (t[0].in_use() < t[0].capacity()) blocks.push_back(d::allocate_frame(64));
  void* r = d::allocate_frame(8);
  EXPECT_TRUE(t[1].owns(r));
  for (void* b : blocks) d::free_frame(b, 64);
  d::free_frame(p, 40);
  d::free_frame(q, 65);
  d::free_frame(r, 8);
  EXPECT_EQ(t.in_use(), 0u);
}

TEST_F(CortexM, TooLargeRequestFailsWithoutSideEffects) {
  cm::FramePoolTable& t = cm::frame_pool_table();
  const std::size_t failures = t.failures();
  EXPECT_EQ(d::allocate_frame(1025), nullptr);
  EXPECT_EQ(t.failures(), failures + 1);
  EXPECT_GE(t.largest_failed_request(), 1025u);
  EXPECT_EQ(t.in_use(), 0u);
}

TEST_F(CortexM, FreeingAForeignPointerIsAFatalError) {
  int x = 0;
  EXPECT_DEATH(d::free_frame(&x, sizeof x), "no frame pool owns");
}

TEST_F(CortexM, FreeingAnInteriorPointerIsAFatalError) {
  void* p = d::allocate_frame(64);
  ASSERT_NE(p, nullptr);
  EXPECT_DEATH(d::free_frame(static_cast<std::byte*>(p) + 16, 48), "inside a block");
  d::free_frame(p, 64);
}

}  // namespace
