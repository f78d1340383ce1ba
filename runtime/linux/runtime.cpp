#include <executor/runtime.hpp>

#include <cstdlib>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>

#include "runtime_impl.hpp"

namespace executor {

namespace {
unsigned resolve_workers(unsigned requested) {
  if (requested != 0) return requested;
  if (const char* env = std::getenv("EXECUTOR_WORKERS")) {
    char* end = nullptr;
    unsigned long v = std::strtoul(env, &end, 10);
    if (end != env && *end == '\0' && v > 0 && v <= 1024) return static_cast<unsigned>(v);
  }
  unsigned hc = std::thread::hardware_concurrency();
  return hc == 0 ? 1 : hc;
}
}  // namespace

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
  detail::set_default_scheduler(impl_.get());
}

Runtime::~Runtime() {
  if (detail::default_scheduler() == impl_.get()) detail::set_default_scheduler(nullptr);
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
  if (detail::default_scheduler() == impl_.get()) detail::set_default_scheduler(nullptr);
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
