// ARM semihosting calls (see semihosting.hpp).
#include "semihosting.hpp"

namespace executor::cortexm::semihosting {

namespace {
constexpr std::uint32_t kSysWrite0 = 0x04;
constexpr std::uint32_t kSysGetCmdline = 0x15;
constexpr std::uint32_t kSysExitExtended = 0x20;
constexpr std::uint32_t kAdpStoppedApplicationExit = 0x20026;

std::uint32_t call(std::uint32_t op, const void* arg) noexcept {
  register std::uint32_t r0 asm("r0") = op;
  register const void* r1 asm("r1") = arg;
  asm volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
  return r0;
}
}  // namespace

void write(const char* s) noexcept {
  call(kSysWrite0, s);
}

void write_u(std::uint64_t v) noexcept {
  char buf[24];
  char* p = buf + sizeof buf;
  *--p = '\0';
  do {
    *--p = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  write(p);
}

void write_i(std::int64_t v) noexcept {
  if (v < 0) {
    write("-");
    write_u(static_cast<std::uint64_t>(-(v + 1)) + 1);
  } else {
    write_u(static_cast<std::uint64_t>(v));
  }
}

void write_hex(std::uint32_t v) noexcept {
  char buf[11] = {'0', 'x'};
  for (int i = 0; i < 8; ++i) buf[2 + i] = "0123456789abcdef"[(v >> (28 - 4 * i)) & 0xF];
  buf[10] = '\0';
  write(buf);
}

int command_line(char* buf, std::size_t size) noexcept {
  struct {
    char* buf;
    std::size_t size;
  } block{buf, size};
  if (call(kSysGetCmdline, &block) != 0) return -1;
  return static_cast<int>(block.size);
}

void exit(int code) noexcept {
  const std::uint32_t block[2] = {kAdpStoppedApplicationExit, static_cast<std::uint32_t>(code)};
  call(kSysExitExtended, block);
  for (;;) asm volatile("wfi");  // not reached under QEMU
}

}  // namespace executor::cortexm::semihosting
