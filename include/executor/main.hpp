// EXECUTOR_MAIN(fn): defines `main` for a program whose body is a coroutine.
//
//   executor::Task<int> app(int argc, char** argv);   // or Task<void>, with or without args
//   EXECUTOR_MAIN(app)
//
// The program builds a Runtime, runs `fn` as the root task and returns its exit code (0 for
// Task<void>; 1 if it throws, after logging the exception). Then it waits a grace period
// (default 1 s) for tasks still running to finish. It never cancels tasks: if some are still
// running when the grace period ends, it logs how many and exits with the root's code, leaving
// them unfinished. See docs/shutdown.md.
//
// Configuration: EXECUTOR_MAIN_WITH(fn, executor::MainOptions{...}); the environment variables
// EXECUTOR_WORKERS and EXECUTOR_GRACE_MS override the options. If the runtime cannot start
// (io_uring unavailable), the reason is printed and the exit code is 70 (EX_SOFTWARE).
#pragma once

#include <chrono>
#include <type_traits>

#include <executor/export.hpp>
#include <executor/task.hpp>

namespace executor {

struct MainOptions {
  unsigned workers = 0;                   // 0: available_parallelism()
  std::chrono::milliseconds grace{1000};  // wait for other tasks after the root finishes
};

namespace detail {

using MainFn = Task<int> (*)(int, char**);
EXECUTOR_API int run_main(int argc, char** argv, MainFn fn, MainOptions options);

template <auto F>
Task<int> main_adapter(int argc, char** argv) {
  if constexpr (std::is_invocable_v<decltype(F), int, char**>) {
    using R = typename std::invoke_result_t<decltype(F), int, char**>::value_type;
    if constexpr (std::is_void_v<R>) {
      co_await F(argc, argv);
      co_return 0;
    } else {
      co_return static_cast<int>(co_await F(argc, argv));
    }
  } else {
    using R = typename std::invoke_result_t<decltype(F)>::value_type;
    if constexpr (std::is_void_v<R>) {
      co_await F();
      co_return 0;
    } else {
      co_return static_cast<int>(co_await F());
    }
  }
}

}  // namespace detail
}  // namespace executor

#define EXECUTOR_MAIN_WITH(fn, options)                                                    \
  int main(int argc, char** argv) {                                                        \
    return ::executor::detail::run_main(argc, argv, &::executor::detail::main_adapter<fn>, \
                                        options);                                          \
  }

#define EXECUTOR_MAIN(fn) EXECUTOR_MAIN_WITH(fn, ::executor::MainOptions{})
