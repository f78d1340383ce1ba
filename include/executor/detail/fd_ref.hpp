// A file descriptor shared by its owner (File, TcpStream, ...) and the operations in flight on
// it. The descriptor is closed when the last holder lets go, so an operation never finds its
// fd closed (or worse, reused for another file) under it, even if the owning object and the
// coroutine that started the operation are both gone.
//
// Thread safety: acquire/release from any thread. Closing: on a runtime worker the close is
// submitted to the completion thread (a worker never blocks in close(2)); elsewhere (the
// completion thread, teardown, plain threads) it is a direct close(2).
#pragma once

#include <atomic>
#include <cstdint>

#include <executor/export.hpp>

namespace executor::detail {

struct FdRef {
  explicit FdRef(int f) noexcept : fd(f) {}
  std::atomic<std::uint32_t> refs{1};
  const int fd;
};

// A new shared fd owning `fd`; nullptr (and `fd` closed) if memory is exhausted.
EXECUTOR_API FdRef* fd_ref_new(int fd) noexcept;
inline void fd_ref_acquire(FdRef* r) noexcept {
  // relaxed: derived from a reference the caller holds.
  r->refs.fetch_add(1, std::memory_order_relaxed);
}
EXECUTOR_API void fd_ref_release(FdRef* r) noexcept;
// If the caller holds the only reference: frees the FdRef without closing and returns the fd.
// Otherwise returns -1 and the caller keeps its reference.
EXECUTOR_API int fd_ref_take(FdRef* r) noexcept;

}  // namespace executor::detail
