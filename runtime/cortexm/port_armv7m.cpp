// The ARMv7-M port (Cortex-M3/M4): PRIMASK windows, WFI, NVIC and SysTick registers.
#include <cstdint>

#include "port.hpp"
#include "semihosting.hpp"

namespace executor::cortexm::port {

namespace {
// System control space registers (ARMv7-M ARM, B3).
inline volatile std::uint32_t& reg(std::uintptr_t addr) noexcept {
  return *reinterpret_cast<volatile std::uint32_t*>(addr);
}
constexpr std::uintptr_t kSystCsr = 0xE000E010;
constexpr std::uintptr_t kSystRvr = 0xE000E014;
constexpr std::uintptr_t kSystCvr = 0xE000E018;
constexpr std::uintptr_t kNvicIser = 0xE000E100;
constexpr std::uintptr_t kNvicIcer = 0xE000E180;
constexpr std::uintptr_t kNvicIspr = 0xE000E200;
constexpr std::uint32_t kSystEnable = 1u << 0;
constexpr std::uint32_t kSystTickInt = 1u << 1;
constexpr std::uint32_t kSystClkSourceCpu = 1u << 2;

inline void barrier() noexcept {
  asm volatile("dsb\n\tisb" : : : "memory");
}
}  // namespace

void irq_window() noexcept {
  // The ISB makes the unmasked state take effect: every pending handler (of sufficient
  // priority) runs before the cpsid.
  asm volatile("cpsie i\n\tisb\n\tcpsid i" : : : "memory");
}

void wait_for_interrupt() noexcept {
  // PRIMASK is set: WFI still wakes on an interrupt that is pending (ARMv7-M B1.5.19).
  asm volatile("dsb\n\twfi" : : : "memory");
}

bool in_handler() noexcept {
  std::uint32_t ipsr;
  asm volatile("mrs %0, ipsr" : "=r"(ipsr));
  return ipsr != 0;
}

void nvic_enable(unsigned irq) noexcept {
  reg(kNvicIser + 4 * (irq / 32)) = 1u << (irq % 32);
}

void nvic_disable(unsigned irq) noexcept {
  reg(kNvicIcer + 4 * (irq / 32)) = 1u << (irq % 32);
  barrier();  // the line is masked before the caller goes on (e.g. returns from its handler)
}

void nvic_pend(unsigned irq) noexcept {
  reg(kNvicIspr + 4 * (irq / 32)) = 1u << (irq % 32);
  barrier();
}

void systick_start(std::uint32_t reload) noexcept {
  reg(kSystCsr) = 0;
  reg(kSystRvr) = reload;
  reg(kSystCvr) = 0;
  reg(kSystCsr) = kSystEnable | kSystTickInt | kSystClkSourceCpu;
}

}  // namespace executor::cortexm::port
