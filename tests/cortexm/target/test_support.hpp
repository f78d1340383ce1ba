// A minimal test harness for the firmware images: checks report through semihosting and end the
// run with a non-zero exit status (QEMU passes it on to ctest). No heap, no printf.
#pragma once

#include <cstdint>

#include <executor/cortexm/executor.hpp>
#include <executor/cortexm/frame_pool.hpp>

#include "semihosting.hpp"
#include "startup.hpp"

namespace test {

namespace sh = executor::cortexm::semihosting;

[[noreturn]] inline void fail(const char* file, int line, const char* what) {
  sh::write("FAIL ");
  sh::write(file);
  sh::write(":");
  sh::write_u(static_cast<std::uint64_t>(line));
  sh::write(": ");
  sh::write(what);
  sh::write("\n");
  sh::exit(1);
}

[[noreturn]] inline void fail_eq(const char* file, int line, const char* what, std::int64_t a,
                                 std::int64_t b) {
  sh::write("FAIL ");
  sh::write(file);
  sh::write(":");
  sh::write_u(static_cast<std::uint64_t>(line));
  sh::write(": ");
  sh::write(what);
  sh::write(" (");
  sh::write_i(a);
  sh::write(" vs ");
  sh::write_i(b);
  sh::write(")\n");
  sh::exit(1);
}

inline void pass(const char* name) {
  sh::write("PASS ");
  sh::write(name);
  sh::write("\n");
}

// Every scenario must leave the executor empty and every frame returned to the pools.
inline void expect_clean(const char* file, int line) {
  auto& ex = executor::cortexm::executor();
  if (ex.live_tasks() != 0 || ex.ready_tasks() != 0) fail(file, line, "tasks left behind");
  if (executor::cortexm::frame_pool_table().in_use() != 0) fail(file, line, "frames leaked");
}

// Prints resource use at the end of an image (the numbers docs/cortexm.md quotes).
inline void report_resources() {
  auto& table = executor::cortexm::frame_pool_table();
  sh::write("stack high water: ");
  sh::write_u(executor::cortexm::stack_high_water());
  sh::write(" of ");
  sh::write_u(executor::cortexm::stack_size());
  sh::write(" bytes; frame pools (block x high water/capacity):");
  for (const auto& pool : table) {
    sh::write(" ");
    sh::write_u(pool.block_size());
    sh::write("x");
    sh::write_u(pool.high_water());
    sh::write("/");
    sh::write_u(pool.capacity());
  }
  sh::write("\n");
}

}  // namespace test

#define CHECK(cond)                                       \
  do {                                                    \
    if (!(cond)) ::test::fail(__FILE__, __LINE__, #cond); \
  } while (0)

#define CHECK_EQ(a, b)                                                                       \
  do {                                                                                       \
    const auto check_a_ = (a);                                                               \
    const auto check_b_ = (b);                                                               \
    if (!(check_a_ == check_b_)) {                                                           \
      ::test::fail_eq(__FILE__, __LINE__, #a " == " #b, static_cast<std::int64_t>(check_a_), \
                      static_cast<std::int64_t>(check_b_));                                  \
    }                                                                                        \
  } while (0)

#define CHECK_CLEAN() ::test::expect_clean(__FILE__, __LINE__)
