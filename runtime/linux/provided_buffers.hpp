// The buffers a multishot receive (IoOpcode::kRecvMultishot) picks from: one pool per
// io::Receiver, shared by the io_uring backend (as a registered provided-buffer ring), the epoll
// backend (which picks a free buffer itself) and the receiver (which hands buffers to the user as
// chunks and takes them back).
//
// Design
// ------
// Every buffer is in one of three places: kFree (ours, not offered to the kernel), kKernel
// (offered in the registered buffer ring; io_uring may fill it) or kHeld (filled: queued in the
// receiver or held by the user as a chunk). The io_uring backend registers the ring when it issues
// the op (on the thread that owns that io_uring: the completion thread, or under a worker ring's
// lock), offering every kFree buffer, and unregisters it at the op's final CQE (kKernel buffers
// become kFree again). So the ring is registered exactly while the op is in the kernel, on the
// ring the op was issued on: a re-armed op (after -ENOBUFS, or when the kernel ended it) may go to
// another worker's ring and registers there. A buffer a chunk gives back goes straight into the
// kernel's ring while it is registered (a store of the ring's tail, no system call), else back to
// kFree.
//
// Locking: `mu` guards everything below it. Lock order: a worker ring's lock, then `mu` (the
// backend registers and reports chunks under the ring's lock); nobody takes a ring's lock while
// holding `mu`.
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>

namespace executor::detail {

struct ProvidedBuffers {
  enum : std::uint8_t { kFree = 0, kKernel = 1, kHeld = 2 };

  // --- immutable after construction ---
  std::byte* storage = nullptr;  // count * size bytes
  void* ring = nullptr;          // io_uring_buf_ring, `count` entries, page aligned
  std::uint32_t count = 0;       // a power of two, <= 32768
  std::uint32_t size = 0;        // bytes per buffer

  std::mutex mu;
  // --- under mu ---
  std::uint8_t* where = nullptr;  // per buffer: kFree, kKernel or kHeld
  std::uint32_t free_count = 0;   // buffers in kFree
  bool registered = false;        // the ring is registered with an io_uring (bgid below)
  std::uint16_t bgid = 0;
  std::uint16_t tail = 0;    // our copy of the ring's tail (we are its only producer)
  std::uint32_t cursor = 0;  // epoll: where the next search for a free buffer starts

  std::byte* data(std::uint32_t id) const noexcept {
    return storage + static_cast<std::size_t>(id) * size;
  }
  // Under mu: a kFree buffer for the epoll backend (then kHeld), or -1.
  int take_free() noexcept {
    if (free_count == 0) return -1;
    for (std::uint32_t i = 0; i < count; ++i) {
      std::uint32_t id = (cursor + i) & (count - 1);
      if (where[id] == kFree) {
        where[id] = kHeld;
        --free_count;
        cursor = id + 1;
        return static_cast<int>(id);
      }
    }
    return -1;
  }
};

// Under mu: gives a kHeld buffer back (into the registered ring, else kFree). In io_receiver.cpp.
void provided_buffer_put(ProvidedBuffers* p, std::uint32_t id) noexcept;
// Under mu (io_uring backend): offers every kFree buffer in the (freshly initialised) ring.
void provided_buffers_offer_all(ProvidedBuffers* p) noexcept;

}  // namespace executor::detail
