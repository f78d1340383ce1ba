// EXECUTOR_MAIN's driver (see include/executor/main.hpp and docs/shutdown.md).
#include <executor/main.hpp>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <limits>
#include <memory>
#include <thread>

#include <fmt/core.h>

#include <executor/runtime.hpp>

namespace executor::detail {

namespace {
// Kept reachable on purpose: an abandoned runtime (tasks still running at exit) is never
// destroyed, and leak checkers see its tasks as reachable rather than leaked.
Runtime* volatile g_abandoned = nullptr;  // volatile: the store must not be optimised away

// An integer in [lo, hi] from the environment; anything else is ignored with one line.
long env_long(const char* name, long fallback, long lo, long hi) {
  const char* v = std::getenv(name);
  if (v == nullptr) return fallback;
  char* end = nullptr;
  errno = 0;
  long r = std::strtol(v, &end, 10);
  if (end == v || *end != '\0' || errno == ERANGE || r < lo || r > hi) {
    fmt::print(stderr, "executor: ignoring {}={:?} (expected an integer in {}..{})\n", name, v, lo,
               hi);
    return fallback;
  }
  return r;
}

// now + grace, saturated: a grace period too long to represent waits for ever.
std::chrono::steady_clock::time_point deadline_after(std::chrono::milliseconds grace) {
  using Clock = std::chrono::steady_clock;
  auto now = Clock::now();
  auto room = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::time_point::max() - now);
  return grace >= room ? Clock::time_point::max() : now + grace;
}
}  // namespace

int run_main(int argc, char** argv, MainFn fn, MainOptions options) {
  // An ignored EXECUTOR_WORKERS is reported here, once: the Runtime is given a count.
  if (long env = env_long("EXECUTOR_WORKERS", 0, 1, 1024); env != 0) {
    options.workers = static_cast<unsigned>(env);
  }
  if (options.workers == 0) options.workers = available_parallelism();
  options.grace = std::chrono::milliseconds(
      env_long("EXECUTOR_GRACE_MS", options.grace.count(), 0, std::numeric_limits<long>::max()));

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
  auto deadline = deadline_after(options.grace);
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
