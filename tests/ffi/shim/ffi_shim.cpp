// The C++ side of the FFI test shim: four task types exported with EXECUTOR_EXPORT_TASK into a
// shared library built with hidden visibility (so the exports prove the macro's visibility).
#include "ffi_shim.h"

#include <executor/ffi_export.hpp>
#include <executor/sleep.hpp>
#include <executor/timeout.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <thread>
#include <type_traits>

namespace {

std::atomic<std::int64_t> g_spin_started{0};
std::atomic<std::int64_t> g_sleeper_started{0};

struct Spin : spin_task {
  std::int64_t run(const executor::CancellationToken& token) const {
    g_spin_started.fetch_add(1);
    std::int64_t n = 0;
    while ((limit == 0 || n < limit) && !token.is_cancelled()) {
      ++n;
      if (n % 1024 == 0) std::this_thread::yield();
    }
    return n;
  }
};

struct Fallible : fallible_task {
  absl::StatusOr<fallible_result> run(const executor::CancellationToken&) const {
    if (mode == 1) throw std::runtime_error("fallible: asked to throw");
    if (mode == 2) return absl::InvalidArgumentError("fallible: asked to fail");
    return fallible_result{value * 2};
  }
};

executor::Task<void> until_cancelled(executor::CancellationToken token) {
  co_await token.cancelled();
}

struct Sleeper : sleeper_task {
  executor::Task<std::int32_t> run(executor::CancellationToken token) const {
    g_sleeper_started.fetch_add(1);
    absl::Status s =
        co_await executor::timeout(std::chrono::milliseconds(ms), until_cancelled(token));
    co_return s.ok() ? 1 : 0;
  }
};

std::atomic<std::int64_t> g_nothing_runs{0};

struct Nothing : nothing_task {
  void run(const executor::CancellationToken&) const { g_nothing_runs.fetch_add(1); }
};

static_assert(sizeof(Spin) == sizeof(spin_task) && std::is_standard_layout_v<Spin>);
static_assert(sizeof(Fallible) == sizeof(fallible_task) && std::is_standard_layout_v<Fallible>);

}  // namespace

EXECUTOR_EXPORT_TASK(Spin, spin_spawn, spin_wait, spin_poll, spin_cancel, spin_cancelled,
                     spin_handle_destroy, spin_result_destroy);
EXECUTOR_EXPORT_TASK(Fallible, fallible_spawn, fallible_wait, fallible_poll, fallible_cancel,
                     fallible_cancelled, fallible_handle_destroy, fallible_result_destroy);
EXECUTOR_EXPORT_TASK(Sleeper, sleeper_spawn, sleeper_wait, sleeper_poll, sleeper_cancel,
                     sleeper_cancelled, sleeper_handle_destroy, sleeper_result_destroy);
EXECUTOR_EXPORT_TASK(Nothing, nothing_spawn, nothing_wait, nothing_poll, nothing_cancel,
                     nothing_cancelled, nothing_handle_destroy, nothing_result_destroy);

extern "C" EXECUTOR_FFI_EXPORT std::int64_t shim_nothing_runs(void) {
  return g_nothing_runs.load();
}
extern "C" EXECUTOR_FFI_EXPORT std::int64_t shim_spin_started(void) {
  return g_spin_started.load();
}
extern "C" EXECUTOR_FFI_EXPORT std::int64_t shim_sleeper_started(void) {
  return g_sleeper_started.load();
}
