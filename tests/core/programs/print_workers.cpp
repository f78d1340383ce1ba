// Prints the default worker count of a Runtime (tests/core/workers_test.cpp runs it under
// taskset and in CPU-quota cgroups), then exits 0.
#include <cstdio>

#include <executor/runtime.hpp>

int main() {
  executor::Runtime rt;
  std::printf("workers=%u\n", rt.workers());
  return 0;
}
