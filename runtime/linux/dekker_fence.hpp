// A full fence for the runtime's Dekker-style protocols (a store on each side, then a load of
// the other side's variable: one of the two threads must see the other's store).
//
// ThreadSanitizer does not model atomic_thread_fence (GCC rejects it under -fsanitize=thread),
// so under TSan every caller instead performs an acq_rel RMW on one shared word: RMWs on one
// object are totally ordered, and the later one reads from (acquires) the earlier, which gives
// the same guarantee between any two callers.
#pragma once

#include <atomic>

namespace executor::detail {

#if defined(EXECUTOR_TSAN)
inline std::atomic<unsigned> tsan_dekker_sync{0};
inline void dekker_fence() noexcept {
  tsan_dekker_sync.fetch_add(0, std::memory_order_acq_rel);
}
#else
inline void dekker_fence() noexcept {
  std::atomic_thread_fence(std::memory_order_seq_cst);
}
#endif

}  // namespace executor::detail
