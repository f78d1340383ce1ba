// Frame allocation for the Linux runtime: the general-purpose heap (glibc's per-thread caches
// serve frames of recurring sizes). Returns nullptr on exhaustion; tasks report std::bad_alloc.
#include <cstdlib>

#include <executor/detail/frame_allocator.hpp>

namespace executor::detail {

void* allocate_frame(std::size_t size) noexcept {
  return std::malloc(size);
}
void free_frame(void* frame, std::size_t) noexcept {
  std::free(frame);
}

}  // namespace executor::detail
