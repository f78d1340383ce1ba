// The type-independent part of executor::TaskResultBundle (see task_result_bundle.hpp).
#include <executor/task_result_bundle.hpp>

#include <exception>
#include <stdexcept>
#include <string>
#include <utility>

#include <fmt/format.h>

namespace executor {

namespace {
std::string describe(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& x) {
    return x.what();
  } catch (...) {
    return "an exception not derived from std::exception";
  }
}

std::string label(std::size_t index, const std::string& name) {
  if (name.empty()) return fmt::format("#{}", index);
  return fmt::format("'{}' (#{})", name, index);
}

void log_unobserved(std::size_t index, const std::string& name,
                    const std::exception_ptr& e) noexcept {
  try {
    fmt::print(stderr,
               "executor: task {} of a destroyed TaskResultBundle failed and nobody can observe "
               "it: {}\n",
               label(index, name), describe(e));
  } catch (...) {  // out of memory while formatting: nothing better to do
  }
}
}  // namespace

TaskFailed::TaskFailed(std::size_t index, std::string name, std::exception_ptr original)
    : std::runtime_error(fmt::format("executor::TaskResultBundle: task {} failed: {}",
                                     label(index, name), describe(original))),
      index_(index),
      name_(std::move(name)),
      original_(std::move(original)) {}

namespace detail {

namespace {
using List = BundleWaiter::List;

void push(BundleWaiter*& head, BundleWaiter* w, List which) noexcept {
  w->prev = nullptr;
  w->next = head;
  if (head != nullptr) head->prev = w;
  head = w;
  w->list = which;
}

void unlink(BundleWaiter*& head, BundleWaiter* w) noexcept {
  if (w->prev != nullptr) {
    w->prev->next = w->next;
  } else {
    head = w->next;
  }
  if (w->next != nullptr) w->next->prev = w->prev;
  w->prev = w->next = nullptr;
  w->list = List::kNone;
}
}  // namespace

std::size_t BundleCore::begin_task(std::string name) {
  std::lock_guard<std::mutex> lock(mu_);
  tasks_.push_back(TaskInfo{std::move(name), false, false, nullptr});
  ++running_;
  return tasks_.size() - 1;
}

void BundleCore::abort_begin(std::size_t index) noexcept {
  std::lock_guard<std::mutex> lock(mu_);
  if (index + 1 == tasks_.size() && !tasks_.back().done) {
    tasks_.pop_back();
    --running_;
  }
}

void BundleCore::finish(std::size_t index, std::exception_ptr error) noexcept {
  bool first_failure = false;
  bool log = false;
  std::string name;
  {
    std::lock_guard<std::mutex> lock(mu_);
    TaskInfo& t = tasks_[index];
    t.done = true;
    if (error) {
      if (abandoned_) {
        log = true;
        try {
          name = t.name;
        } catch (...) {  // out of memory: log without the name
        }
      }
      t.error = error;
      if (first_failure_ == kNone) {
        first_failure_ = index;
        first_failure = true;
      }
    }
    if (--running_ == 0) {
      // Every current join_all() completes now, even if add() starts new tasks before we are
      // done waking them: move them all to the waking list in one step.
      while (BundleWaiter* w = waiting_) {
        unlink(waiting_, w);
        push(waking_, w, List::kWaking);
      }
    }
  }
  if (log) log_unobserved(index, name, error);
  // Tell the others to stop before the joiners run (cancel() runs callbacks on this thread).
  if (first_failure) token_.cancel();
  drain_waking();
}

void BundleCore::abandon() noexcept {
  std::lock_guard<std::mutex> lock(mu_);
  abandoned_ = true;
  for (std::size_t i = 0; i < tasks_.size(); ++i) {
    TaskInfo& t = tasks_[i];
    if (t.error && !t.observed) {
      t.observed = true;
      log_unobserved(i, t.name, t.error);  // rare (a failure nobody looked at): under the lock
    }
  }
}

void BundleCore::drain_waking() noexcept {
  constexpr std::size_t kBatch = 16;
  for (;;) {
    Waker batch[kBatch];
    std::size_t n = 0;
    {
      std::lock_guard<std::mutex> lock(mu_);
      while (n < kBatch && waking_ != nullptr) {
        BundleWaiter* w = waking_;
        unlink(waking_, w);
        batch[n++] = std::move(w->waker);
      }
    }
    if (n == 0) return;
    for (std::size_t i = 0; i < n; ++i) batch[i].wake();  // after unlocking
  }
}

bool BundleCore::link_waiter(BundleWaiter* w) noexcept {
  std::lock_guard<std::mutex> lock(mu_);
  if (running_ == 0) return false;
  push(waiting_, w, List::kWaiting);
  return true;
}

void BundleCore::unlink_waiter(BundleWaiter* w) noexcept {
  Waker dropped;
  std::lock_guard<std::mutex> lock(mu_);
  switch (w->list) {
    case List::kWaiting:
      unlink(waiting_, w);
      break;
    case List::kWaking:
      unlink(waking_, w);
      break;
    case List::kNone:
      return;  // a finisher took the waker
  }
  dropped = std::move(w->waker);  // dropped after unlocking (destructor order)
}

bool BundleCore::idle() const noexcept {
  std::lock_guard<std::mutex> lock(mu_);
  return running_ == 0;
}

void BundleCore::throw_if_failed() const {
  std::lock_guard<std::mutex> lock(mu_);
  if (first_failure_ == kNone) return;
  const TaskInfo& t = tasks_[first_failure_];
  t.observed = true;
  throw TaskFailed(first_failure_, t.name, t.error);
}

const BundleCore::TaskInfo& BundleCore::info(std::size_t index) const {
  if (index >= tasks_.size()) {
    throw std::out_of_range(
        fmt::format("executor::TaskResultBundle: no task #{} (it has {})", index, tasks_.size()));
  }
  return tasks_[index];
}

std::size_t BundleCore::size() const noexcept {
  std::lock_guard<std::mutex> lock(mu_);
  return tasks_.size();
}

std::size_t BundleCore::running() const noexcept {
  std::lock_guard<std::mutex> lock(mu_);
  return running_;
}

bool BundleCore::finished(std::size_t index) const {
  std::lock_guard<std::mutex> lock(mu_);
  return info(index).done;
}

bool BundleCore::succeeded(std::size_t index) const {
  std::lock_guard<std::mutex> lock(mu_);
  const TaskInfo& t = info(index);
  return t.done && !t.error;
}

std::exception_ptr BundleCore::error(std::size_t index) const {
  std::lock_guard<std::mutex> lock(mu_);
  const TaskInfo& t = info(index);
  t.observed = true;
  return t.error;
}

std::string BundleCore::name(std::size_t index) const {
  std::lock_guard<std::mutex> lock(mu_);
  const TaskInfo& t = info(index);
  return t.name.empty() ? fmt::format("#{}", index) : t.name;
}

}  // namespace detail
}  // namespace executor
