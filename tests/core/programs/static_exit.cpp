// A Runtime with static storage whose task calls std::exit(7): the static destructor runs on a
// worker thread and must neither join that thread nor tear down the running task; the process
// exits with status 7 (tests/core/main_test.cpp).
#include <cstdio>
#include <cstdlib>

#include <executor/executor.hpp>

namespace {
executor::Runtime g_runtime({.workers = 2});

executor::Task<int> exits() {
  std::fflush(stdout);
  std::exit(7);
  co_return 0;
}
}  // namespace

int main() {
  g_runtime.block_on(exits());
  return 1;  // not reached
}
