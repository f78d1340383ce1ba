// Startup code for ARMv7-M images: the vector table, Reset_Handler (.data copy, .bss zeroing,
// stack painting, static constructors, main), fault reporting, the default interrupt handlers
// that feed the waker lists and SysTick's timer queue, and the panic hook.
//
// Every handler name is weak: an application overrides `IRQ<n>_Handler`, `SysTick_Handler` or
// `executor_cortexm_panic` by defining it (extern "C").
#include <cstddef>
#include <cstdint>

#include <executor/cortexm/irq.hpp>

#include "port.hpp"
#include "semihosting.hpp"
#include "startup.hpp"
#include "timer.hpp"

namespace sh = executor::cortexm::semihosting;

extern "C" {
// Linker script symbols (mps2_an385.ld).
extern std::uint32_t _sidata[], _sdata[], _edata[], _sbss[], _ebss[], _sstack[], _estack[];
extern void (*__preinit_array_start[])();
extern void (*__preinit_array_end[])();
extern void (*__init_array_start[])();
extern void (*__init_array_end[])();

int main();
[[noreturn]] void Reset_Handler();
void Default_Handler() noexcept;
void HardFault_Handler() noexcept;
void executor_cortexm_systick() noexcept;
void executor_cortexm_irq() noexcept;

void NMI_Handler() noexcept __attribute__((weak, alias("Default_Handler")));
void MemManage_Handler() noexcept __attribute__((weak, alias("HardFault_Handler")));
void BusFault_Handler() noexcept __attribute__((weak, alias("HardFault_Handler")));
void UsageFault_Handler() noexcept __attribute__((weak, alias("HardFault_Handler")));
void SVC_Handler() noexcept __attribute__((weak, alias("Default_Handler")));
void DebugMon_Handler() noexcept __attribute__((weak, alias("Default_Handler")));
void PendSV_Handler() noexcept __attribute__((weak, alias("Default_Handler")));
void SysTick_Handler() noexcept __attribute__((weak, alias("executor_cortexm_systick")));

// clang-format off
#define EXECUTOR_CORTEXM_IRQS(X)                                                         \
  X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) X(12) X(13) X(14) X(15) \
  X(16) X(17) X(18) X(19) X(20) X(21) X(22) X(23) X(24) X(25) X(26) X(27) X(28) X(29)   \
  X(30) X(31)
// clang-format on
#define EXECUTOR_CORTEXM_DECLARE_IRQ(n) \
  void IRQ##n##_Handler() noexcept __attribute__((weak, alias("executor_cortexm_irq")));
EXECUTOR_CORTEXM_IRQS(EXECUTOR_CORTEXM_DECLARE_IRQ)

// Called by port::panic. The default reports through semihosting and exits with status 3.
[[noreturn]] void executor_cortexm_panic(const char* message) __attribute__((weak));
}

static_assert(executor::cortexm::kNumIrqs == 32,
              "startup.cpp names 32 interrupt handlers (mps2-an385/an386); extend the table");

namespace {

union Vector {
  void (*handler)();
  std::uint32_t* stack;
};

#define EXECUTOR_CORTEXM_VECTOR_IRQ(n) {IRQ##n##_Handler},

}  // namespace

extern "C" __attribute__((section(".isr_vector"), used))
const Vector g_vectors[16 + 32] = {{.stack = _estack},
                                   {Reset_Handler},
                                   {NMI_Handler},
                                   {HardFault_Handler},
                                   {MemManage_Handler},
                                   {BusFault_Handler},
                                   {UsageFault_Handler},
                                   {nullptr},
                                   {nullptr},
                                   {nullptr},
                                   {nullptr},
                                   {SVC_Handler},
                                   {DebugMon_Handler},
                                   {nullptr},
                                   {PendSV_Handler},
                                   {SysTick_Handler},
                                   EXECUTOR_CORTEXM_IRQS(EXECUTOR_CORTEXM_VECTOR_IRQ)};

namespace {
constexpr std::uint32_t kStackPaint = 0xC0FFEE11u;

std::uint32_t read_ipsr() noexcept {
  std::uint32_t ipsr;
  asm volatile("mrs %0, ipsr" : "=r"(ipsr));
  return ipsr;
}
}  // namespace

extern "C" void Reset_Handler() {
  for (std::uint32_t *src = _sidata, *dst = _sdata; dst < _edata;) *dst++ = *src++;
  for (std::uint32_t* p = _sbss; p < _ebss;) *p++ = 0;
  // Paint the unused stack so stack_high_water() can measure the deepest use.
  std::uint32_t* sp;
  asm volatile("mov %0, sp" : "=r"(sp));
  for (std::uint32_t* p = _sstack; p < sp - 16;) *p++ = kStackPaint;
  for (auto** f = __preinit_array_start; f < __preinit_array_end; ++f) (*f)();
  for (auto** f = __init_array_start; f < __init_array_end; ++f) (*f)();
  sh::exit(main());
}

extern "C" void executor_cortexm_systick() noexcept {
  executor::cortexm::internal::systick_isr();
}

extern "C" void executor_cortexm_irq() noexcept {
  executor::cortexm::irq_dispatch(read_ipsr() - 16);
}

extern "C" void Default_Handler() noexcept {
  sh::write("executor: unexpected exception ");
  sh::write_u(read_ipsr());
  sh::write("\n");
  sh::exit(5);
}

// Reports the faulting PC from the exception frame (r0 = the stack it was pushed on).
extern "C" [[noreturn]] __attribute__((used)) void executor_cortexm_fault(std::uint32_t* frame) {
  const auto cfsr = *reinterpret_cast<volatile std::uint32_t*>(0xE000ED28);
  const auto hfsr = *reinterpret_cast<volatile std::uint32_t*>(0xE000ED2C);
  sh::write("executor: fault (exception ");
  sh::write_u(read_ipsr());
  sh::write(") pc=");
  sh::write_hex(frame[6]);
  sh::write(" cfsr=");
  sh::write_hex(cfsr);
  sh::write(" hfsr=");
  sh::write_hex(hfsr);
  sh::write(" (cfsr 0x00010000: an undefined instruction, e.g. the udf of __builtin_trap)\n");
  sh::exit(4);
}

extern "C" __attribute__((naked)) void HardFault_Handler() noexcept {
  asm volatile(
      "tst lr, #4\n\t"
      "ite eq\n\t"
      "mrseq r0, msp\n\t"
      "mrsne r0, psp\n\t"
      "b executor_cortexm_fault\n\t");
}

// Static destructors never run on these images (main's return ends the program through
// semihosting; a product never returns), so registering one is a no-op. This lets statics with
// non-trivial destructors (e.g. a global std::optional<Sender>) link without a C library exit.
extern "C" int __aeabi_atexit(void*, void (*)(void*), void*) noexcept {
  return 0;
}
extern "C" {
__attribute__((used)) void* __dso_handle = nullptr;
}

// The C++ ABI's hook for a call through a pure virtual function (a bug, e.g. a half-destroyed
// scheduler); referenced by every vtable with a pure entry.
extern "C" void __cxa_pure_virtual() {
  executor::cortexm::port::panic("pure virtual call");
}

extern "C" void executor_cortexm_panic(const char* message) {
  sh::write("executor panic: ");
  sh::write(message);
  sh::write("\n");
  sh::exit(3);
}

namespace executor::cortexm {

void port::panic(const char* message) noexcept {
  asm volatile("cpsid i" : : : "memory");
  executor_cortexm_panic(message);
}

std::size_t stack_size() noexcept {
  return static_cast<std::size_t>(_estack - _sstack) * sizeof(std::uint32_t);
}

std::size_t stack_high_water() noexcept {
  const std::uint32_t* p = _sstack;
  while (p < _estack && *p == kStackPaint) ++p;
  return static_cast<std::size_t>(_estack - p) * sizeof(std::uint32_t);
}

}  // namespace executor::cortexm
