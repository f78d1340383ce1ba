// Futex wait and wake on a 32-bit atomic word, straight to the system call.
//
// The workers park on these rather than std::atomic::wait/notify_one: libstdc++ 12 spins before
// it sleeps and calls sched_yield in that spin, which on a CPU shared with another process gives
// away the rest of the worker's time slice at every park; and its notify goes through a shared
// table of waiter counts that a parked worker does not need. Here a wake is one FUTEX_WAKE and a
// park one FUTEX_WAIT. The word's atomic operations carry the memory ordering (the futex calls
// order nothing), so ThreadSanitizer sees every happens-before edge.
#pragma once

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>

namespace executor::detail {

// Sleeps while `word` holds `expected` (returns at once if it does not; may return spuriously:
// re-check the word).
inline void futex_wait(std::atomic<std::uint32_t>& word, std::uint32_t expected) noexcept {
  static_assert(sizeof(std::atomic<std::uint32_t>) == sizeof(std::uint32_t));
  ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), FUTEX_WAIT_PRIVATE, expected,
            nullptr, nullptr, 0);
}

// Wakes one thread sleeping in futex_wait on `word`.
inline void futex_wake_one(std::atomic<std::uint32_t>& word) noexcept {
  ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), FUTEX_WAKE_PRIVATE, 1, nullptr,
            nullptr, 0);
}

}  // namespace executor::detail
