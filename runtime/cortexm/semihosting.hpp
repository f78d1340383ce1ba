// ARM semihosting (a debugger or QEMU with -semihosting-config enable=on services `bkpt 0xab`):
// console output, the command line (-append) and the exit status of the firmware test images.
// On hardware without a debugger attached a semihosting call is a HardFault: production images
// override the panic hook instead of relying on it.
#pragma once

#include <cstddef>
#include <cstdint>

namespace executor::cortexm::semihosting {

// Writes a NUL-terminated string to the debug console (QEMU: its stderr).
void write(const char* s) noexcept;
// Writes an unsigned / signed decimal number.
void write_u(std::uint64_t v) noexcept;
void write_i(std::int64_t v) noexcept;
// Writes 0x followed by 8 hex digits.
void write_hex(std::uint32_t v) noexcept;
// Copies the command line (QEMU: the -append string) into buf; returns its length or -1.
int command_line(char* buf, std::size_t size) noexcept;
// Ends the program with `code` as QEMU's exit status (SYS_EXIT_EXTENDED).
[[noreturn]] void exit(int code) noexcept;

}  // namespace executor::cortexm::semihosting
