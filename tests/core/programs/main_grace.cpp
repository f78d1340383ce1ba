// EXECUTOR_MAIN grace period: the root spawns a detached task that sleeps argv[1] ms, then
// prints "cleanup done"; the root returns 3 at once. With EXECUTOR_GRACE_MS above the sleep the
// cleanup runs before exit; below it, the program exits without it (never cancelling it).
#include <chrono>
#include <cstdio>
#include <cstdlib>

#include <executor/executor.hpp>

executor::Task<void> cleanup(int ms) {
  co_await executor::sleep(std::chrono::milliseconds(ms));
  std::puts("cleanup done");
  std::fflush(stdout);
}

executor::Task<int> app(int argc, char** argv) {
  int ms = argc > 1 ? std::atoi(argv[1]) : 100;
  executor::spawn(cleanup, ms).detach();
  co_return 3;
}

EXECUTOR_MAIN(app)
