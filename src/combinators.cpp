// Shared state of the task combinators (include/executor/detail/race.hpp).
#include <atomic>
#include <cstdint>

#include <executor/detail/race.hpp>

namespace executor::detail {

namespace {
// relaxed: only uniqueness and per-thread monotonicity are needed. A child that finishes after
// another child's completion happened-before it (e.g. it was woken by it) gets a larger number;
// two unrelated completions are ordered arbitrarily, which is as good as "simultaneous".
std::atomic<std::uint64_t> g_completion_seq{1};
}  // namespace

std::uint64_t next_completion_seq() noexcept {
  return g_completion_seq.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace executor::detail
