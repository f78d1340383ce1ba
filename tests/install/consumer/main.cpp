// Uses the installed executor: spawns, sleeps, joins; prints a line the test checks.
#include <chrono>
#include <cstdio>

#include <executor/executor.hpp>

executor::Task<int> square(int x) {
  co_await executor::sleep(std::chrono::milliseconds(1));
  co_return x* x;
}

executor::Task<int> app() {
  int v = co_await executor::spawn(square, 7);
  std::printf("consumer ok %d\n", v);
  co_return v == 49 ? 0 : 1;
}

EXECUTOR_MAIN(app)
