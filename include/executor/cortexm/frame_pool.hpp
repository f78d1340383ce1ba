// Fixed frame pools: where the Cortex-M executor gets task frames, without a heap.
//
// Every coroutine frame and every spawned task's cell is a block from one of a few size classes
// in static storage, sized at compile time. A request is served by the smallest class whose
// blocks are large enough and which still has a free block (a full class falls through to the
// next larger one). When none has, the allocation fails: a Task becomes invalid and
// `try_spawn` returns SpawnError::kOutOfFrames; nothing crashes and nothing leaks.
//
// An image chooses its classes once, in one .cpp file:
//
//   EXECUTOR_CORTEXM_FRAME_POOLS(FramePoolSpec{64, 8}, FramePoolSpec{256, 8},
//                                FramePoolSpec{1024, 2})
//
// (ascending block sizes; each a multiple of kFrameAlign). An image that does not define it
// gets the runtime's default (runtime/cortexm/default_frame_pools.cpp, 5.5 KiB). Coroutine
// frame sizes are chosen by the compiler: size the classes from `frame_pool_table()`'s
// statistics (high-water marks, and the largest request that found no block).
//
// Thread safety: allocation and release run in a critical section; release is safe from an
// interrupt handler. Statistics are read without one (they are single words).
#pragma once

#include <cstddef>
#include <cstdint>
#include <new>
#include <utility>

namespace executor::cortexm {

// Block alignment: what `operator new` promises, so any coroutine frame fits.
inline constexpr std::size_t kFrameAlign = __STDCPP_DEFAULT_NEW_ALIGNMENT__;

struct FramePoolSpec {
  std::size_t block_size;
  std::size_t count;
};

// One size class. Blocks are handed out fresh (a bump index) until every block has been used
// once, then from an intrusive free list threaded through the released blocks; so the pool
// needs no initialisation at run time and can be constinit.
class FramePool {
 public:
  constexpr FramePool(std::byte* storage, std::size_t block_size, std::size_t count) noexcept
      : storage_(storage), block_size_(block_size), count_(count) {}
  FramePool(const FramePool&) = delete;
  FramePool& operator=(const FramePool&) = delete;

  std::size_t block_size() const noexcept { return block_size_; }
  std::size_t capacity() const noexcept { return count_; }
  std::size_t in_use() const noexcept { return in_use_; }
  std::size_t high_water() const noexcept { return high_water_; }

  // The frame allocator's primitives; the caller holds a critical section.
  void* try_allocate() noexcept;
  bool owns(const void* p) const noexcept;
  void release(void* p) noexcept;

 private:
  struct FreeBlock {
    FreeBlock* next;
  };
  std::byte* storage_;
  std::size_t block_size_;
  std::size_t count_;
  std::size_t fresh_ = 0;  // blocks [fresh_, count_) have never been handed out
  std::size_t in_use_ = 0;
  std::size_t high_water_ = 0;
  FreeBlock* free_ = nullptr;
};

// The image's size classes, smallest first, with allocator-wide statistics.
class FramePoolTable {
 public:
  constexpr FramePoolTable(FramePool* pools, std::size_t n) noexcept : pools_(pools), n_(n) {}
  FramePoolTable(const FramePoolTable&) = delete;
  FramePoolTable& operator=(const FramePoolTable&) = delete;

  FramePool* begin() const noexcept { return pools_; }
  FramePool* end() const noexcept { return pools_ + n_; }
  std::size_t size() const noexcept { return n_; }
  FramePool& operator[](std::size_t i) const noexcept { return pools_[i]; }

  // Allocation requests that found no free block, and the largest such request in bytes.
  std::size_t failures() const noexcept { return failures_; }
  std::size_t largest_failed_request() const noexcept { return largest_failed_; }
  // Blocks in use over all classes (0 when no task, frame or cell is alive).
  std::size_t in_use() const noexcept;

  void note_failure(std::size_t size) noexcept {
    ++failures_;
    if (size > largest_failed_) largest_failed_ = size;
  }

 private:
  FramePool* pools_;
  std::size_t n_;
  std::size_t failures_ = 0;
  std::size_t largest_failed_ = 0;
};

// Static storage for a set of size classes. Use through EXECUTOR_CORTEXM_FRAME_POOLS.
template <FramePoolSpec... Specs>
class FramePools {
  static constexpr std::size_t kN = sizeof...(Specs);
  static constexpr FramePoolSpec kSpecs[kN] = {Specs...};
  static constexpr bool valid() {
    for (std::size_t i = 0; i < kN; ++i) {
      if (kSpecs[i].block_size < sizeof(void*) || kSpecs[i].block_size % kFrameAlign != 0) {
        return false;
      }
      if (kSpecs[i].count == 0) return false;
      if (i > 0 && kSpecs[i].block_size <= kSpecs[i - 1].block_size) return false;
    }
    return true;
  }
  static_assert(kN > 0, "at least one frame pool");
  static_assert(valid(),
                "frame pools: block sizes must ascend strictly, be multiples of kFrameAlign "
                "and hold a pointer; counts must be positive");
  static constexpr std::size_t offset(std::size_t i) {
    std::size_t off = 0;
    for (std::size_t k = 0; k < i; ++k) off += kSpecs[k].block_size * kSpecs[k].count;
    return off;
  }

 public:
  constexpr FramePools() noexcept : FramePools(std::make_index_sequence<kN>()) {}
  FramePoolTable& table() noexcept { return table_; }

 private:
  template <std::size_t... I>
  constexpr explicit FramePools(std::index_sequence<I...>) noexcept
      : pools_{FramePool(storage_ + offset(I), kSpecs[I].block_size, kSpecs[I].count)...},
        table_(pools_, kN) {}

  // The blocks are a static member, not a field: zero-initialised storage then lands in .bss,
  // while the small descriptors below (which hold pointers) go to .data. One instance per
  // image (EXECUTOR_CORTEXM_FRAME_POOLS defines it), so sharing per Specs is no restriction.
  alignas(kFrameAlign) static inline std::byte storage_[offset(kN)]{};
  FramePool pools_[kN];
  FramePoolTable table_;
};

// The image's frame pools: defined by EXECUTOR_CORTEXM_FRAME_POOLS, else the runtime default.
FramePoolTable& frame_pool_table() noexcept;

}  // namespace executor::cortexm

// Defines the image's frame pools (once, at namespace scope, in one .cpp file).
#define EXECUTOR_CORTEXM_FRAME_POOLS(...)                                                 \
  ::executor::cortexm::FramePoolTable& ::executor::cortexm::frame_pool_table() noexcept { \
    static constinit ::executor::cortexm::FramePools<__VA_ARGS__> pools;                  \
    return pools.table();                                                                 \
  }
