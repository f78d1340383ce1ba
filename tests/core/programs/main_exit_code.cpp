// EXECUTOR_MAIN with argc/argv returning Task<int>: exits with the code given as argv[1].
#include <cstdlib>

#include <executor/executor.hpp>

executor::Task<int> square(int x) {
  co_return x* x;
}

executor::Task<int> app(int argc, char** argv) {
  int code = argc > 1 ? std::atoi(argv[1]) : 0;
  int nine = co_await executor::spawn(square, 3);
  co_return nine == 9 ? code : 99;
}

EXECUTOR_MAIN(app)
