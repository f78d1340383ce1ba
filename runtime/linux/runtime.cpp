#include <executor/runtime.hpp>

#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include <fmt/core.h>

#include "available_cpus.hpp"
#include "runtime_impl.hpp"

namespace executor {

namespace {
unsigned resolve_workers(unsigned requested) {
  if (requested != 0) return requested;
  if (const char* env = std::getenv("EXECUTOR_WORKERS")) {
    char* end = nullptr;
    unsigned long v = std::strtoul(env, &end, 10);
    if (end != env && *end == '\0' && v > 0 && v <= 1024) return static_cast<unsigned>(v);
    fmt::print(stderr, "executor: ignoring EXECUTOR_WORKERS={:?} (expected 1..1024)\n", env);
  }
  return detail::available_cpus();
}

// The live runtimes in construction order (runtime.hpp: the default is the most recently
// constructed live one). Cold: touched once per construction and destruction.
std::mutex g_live_mu;
std::vector<detail::RuntimeImpl*>& live_runtimes() {
  static auto* v = new std::vector<detail::RuntimeImpl*>;  // never destroyed: used at exit
  return *v;
}

void make_live(detail::RuntimeImpl* rt) {
  std::lock_guard lock(g_live_mu);
  live_runtimes().push_back(rt);
  detail::set_default_scheduler(rt);
}

// The default becomes the newest runtime still live, or none.
void retire(detail::RuntimeImpl* rt) {
  std::lock_guard lock(g_live_mu);
  auto& v = live_runtimes();
  std::erase(v, rt);
  detail::set_default_scheduler(v.empty() ? nullptr : v.back());
}
}  // namespace

unsigned available_parallelism() noexcept {
  return detail::available_cpus();
}

Runtime::Runtime(RuntimeOptions options) {
  if (options.ring_entries == 0 || options.ring_entries > 32768) {
    throw std::invalid_argument("executor::Runtime: ring_entries must be in 1..32768");
  }
  if (options.workers > 1024) {
    throw std::invalid_argument("executor::Runtime: workers must be at most 1024");
  }
  impl_ =
      std::make_unique<detail::RuntimeImpl>(resolve_workers(options.workers), options.ring_entries);
  impl_->start();
  make_live(impl_.get());
}

Runtime::~Runtime() {
  retire(impl_.get());
  if (impl_->on_worker()) {
    // Destroyed by one of its own workers: a task called std::exit() and this Runtime has static
    // storage. The task's frame is on this thread's stack, so nothing may be torn down: stop the
    // other threads and leave every task allocated, as abandon() does; the process is exiting.
    impl_->abandon();
    (void)impl_.release();
    return;
  }
  impl_.reset();
}

absl::StatusOr<std::unique_ptr<Runtime>> Runtime::create(RuntimeOptions options) {
  try {
    return std::make_unique<Runtime>(options);
  } catch (const std::system_error& e) {
    return absl::FailedPreconditionError(e.what());
  } catch (const std::invalid_argument& e) {
    return absl::InvalidArgumentError(e.what());
  }
}

unsigned Runtime::workers() const noexcept {
  return impl_->worker_count();
}
std::size_t Runtime::live_tasks() const noexcept {
  return impl_->live_tasks();
}
detail::Scheduler* Runtime::scheduler() noexcept {
  return impl_.get();
}

void Runtime::abandon() noexcept {
  retire(impl_.get());
  impl_->abandon();
}

void Runtime::check_not_worker() const {
  if (impl_->on_worker()) {
    throw std::logic_error(
        "executor::Runtime::block_on called from one of its own workers (it would block the "
        "worker); co_await the task instead");
  }
}

}  // namespace executor
