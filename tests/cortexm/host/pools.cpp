// The frame pools of the host test binaries (x86-64 frames are larger than ARM ones).
#include <executor/cortexm/frame_pool.hpp>

EXECUTOR_CORTEXM_FRAME_POOLS(FramePoolSpec{64, 16}, FramePoolSpec{128, 32}, FramePoolSpec{256, 32},
                             FramePoolSpec{512, 16}, FramePoolSpec{1024, 4})
