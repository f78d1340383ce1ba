// The frame pools of an image that does not define its own with EXECUTOR_CORTEXM_FRAME_POOLS.
// This file is its own archive member: an image that defines frame_pool_table() never links it.
#include <executor/cortexm/frame_pool.hpp>

EXECUTOR_CORTEXM_FRAME_POOLS(FramePoolSpec{64, 8}, FramePoolSpec{128, 8}, FramePoolSpec{256, 8},
                             FramePoolSpec{512, 4})
