// EXECUTOR_MAIN with a no-argument Task<void>; throws when EXECUTOR_TEST_THROW is set.
#include <cstdio>
#include <cstdlib>
#include <stdexcept>

#include <executor/executor.hpp>

executor::Task<void> app() {
  co_await executor::yield_now();
  if (std::getenv("EXECUTOR_TEST_THROW") != nullptr) throw std::runtime_error("root failed");
  std::puts("void main ran");
}

EXECUTOR_MAIN_WITH(app,
                   (executor::MainOptions{.workers = 1, .grace = std::chrono::milliseconds(200)}))
