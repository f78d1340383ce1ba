// The critical-section hooks of the sync/ lock facade (<executor/sync/detail/lock.hpp>) for the
// single-core Cortex-M port: PRIMASK save/mask and restore, so they nest and work in handlers.
#include <cstdint>

#include <executor/cortexm/critical_section.hpp>
#include <executor/sync/detail/lock.hpp>

namespace executor::detail {

std::uint32_t critical_section_enter() noexcept {
  return cortexm::irq_save();
}
void critical_section_exit(std::uint32_t saved) noexcept {
  cortexm::irq_restore(saved);
}

}  // namespace executor::detail
