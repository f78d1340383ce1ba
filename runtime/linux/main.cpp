// EXECUTOR_MAIN's driver (see include/executor/main.hpp and docs/shutdown.md).
#include <executor/main.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <memory>
#include <thread>

#include <fmt/core.h>

#include <executor/runtime.hpp>

namespace executor::detail {

namespace {
// Kept reachable on purpose: an abandoned runtime (tasks still running at exit) is never
// destroyed, and leak checkers see its tasks as reachable rather than leaked.
Runtime* volatile g_abandoned = nullptr;  // volatile: the store must not be optimised away

long env_long(const char* name, long fallback) {
  const char* v = std::getenv(name);
  if (v == nullptr) return fallback;
  char* end = nullptr;
  long r = std::strtol(v, &end, 10);
  if (end == v || *end != '\0' || r < 0) {
    fmt::print(stderr, "executor: ignoring {}={:?} (expected a non-negative integer)\n", name, v);
    return fallback;
  }
  return r;
}
}  // namespace

int run_main(int argc, char** argv, MainFn fn, MainOptions options) {
  options.workers = static_cast<unsigned>(env_long("EXECUTOR_WORKERS", options.workers));
  options.grace = std::chrono::milliseconds(env_long("EXECUTOR_GRACE_MS", options.grace.count()));

  std::unique_ptr<Runtime> rt;
  try {
    rt = std::make_unique<Runtime>(RuntimeOptions{.workers = options.workers});
  } catch (const std::exception& e) {
    fmt::print(stderr, "{}\n", e.what());
    return 70;  // EX_SOFTWARE
  }

  int code = 0;
  try {
    code = rt->block_on(fn(argc, argv));
  } catch (const std::exception& e) {
    fmt::print(stderr, "executor: the main task threw: {}\n", e.what());
    code = 1;
  } catch (...) {
    fmt::print(stderr, "executor: the main task threw a non-std::exception\n");
    code = 1;
  }

  // Grace period: let other tasks finish; never cancel them.
  auto deadline = std::chrono::steady_clock::now() + options.grace;
  while (rt->live_tasks() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  std::size_t left = rt->live_tasks();
  if (left == 0) {
    rt.reset();
    return code;
  }
  fmt::print(stderr,
             "executor: {} task(s) still running {} ms after the main task ended; exiting "
             "without cancelling them\n",
             left, options.grace.count());
  std::fflush(stderr);
  rt->abandon();
  g_abandoned = rt.release();
  return code;
}

}  // namespace executor::detail
