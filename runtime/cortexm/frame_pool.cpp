// The Cortex-M frame allocator: detail::allocate_frame/free_frame on fixed pools (see
// <executor/cortexm/frame_pool.hpp>). No heap: a request that no pool can serve returns nullptr.
#include <executor/cortexm/critical_section.hpp>
#include <executor/cortexm/frame_pool.hpp>
#include <executor/detail/frame_allocator.hpp>
#include <executor/detail/task_header.hpp>

namespace executor::cortexm {

void* FramePool::try_allocate() noexcept {
  void* p;
  if (free_ != nullptr) {
    p = free_;
    free_ = free_->next;
  } else if (fresh_ < count_) {
    p = storage_ + fresh_ * block_size_;
    ++fresh_;
  } else {
    return nullptr;
  }
  if (++in_use_ > high_water_) high_water_ = in_use_;
  return p;
}

bool FramePool::owns(const void* p) const noexcept {
  auto* b = static_cast<const std::byte*>(p);
  return b >= storage_ && b < storage_ + count_ * block_size_;
}

void FramePool::release(void* p) noexcept {
  auto* b = static_cast<std::byte*>(p);
  if ((b - storage_) % static_cast<std::ptrdiff_t>(block_size_) != 0) {
    executor::detail::fatal("executor::cortexm: free_frame of a pointer inside a block");
  }
  free_ = ::new (p) FreeBlock{free_};
  --in_use_;
}

std::size_t FramePoolTable::in_use() const noexcept {
  std::size_t n = 0;
  for (const FramePool& p : *this) n += p.in_use();
  return n;
}

}  // namespace executor::cortexm

namespace executor::detail {

void* allocate_frame(std::size_t size) noexcept {
  cortexm::FramePoolTable& table = cortexm::frame_pool_table();
  cortexm::CriticalSection cs;  // frames may be released from a handler (a waker's last ref)
  for (cortexm::FramePool& pool : table) {
    if (pool.block_size() < size) continue;
    if (void* p = pool.try_allocate()) return p;
  }
  table.note_failure(size);
  return nullptr;
}

void free_frame(void* frame, std::size_t) noexcept {
  if (frame == nullptr) return;
  cortexm::FramePoolTable& table = cortexm::frame_pool_table();
  cortexm::CriticalSection cs;
  for (cortexm::FramePool& pool : table) {
    if (pool.owns(frame)) {
      pool.release(frame);
      return;
    }
  }
  fatal("executor::cortexm: free_frame of a pointer that no frame pool owns");
}

}  // namespace executor::detail
