// A deterministic, single-threaded executor for the sync tests: tasks run only when the test
// calls run()/run_one(), in FIFO order or in a seeded random order. Cancelling a task
// (JoinHandle::abort_for_combinator) destroys its frame at its current suspension point on the
// next run, which is how the tests destroy a suspended awaiter.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <random>
#include <set>
#include <utility>

#include <executor/detail/task_header.hpp>
#include <executor/join_handle.hpp>
#include <executor/spawn.hpp>
#include <executor/task.hpp>

namespace executor::test {

class ManualExecutor final : public detail::Scheduler {
 public:
  ManualExecutor() = default;
  ManualExecutor(const ManualExecutor&) = delete;
  ManualExecutor& operator=(const ManualExecutor&) = delete;
  ~ManualExecutor() { shutdown(); }

  void schedule(detail::TaskHeader* t) noexcept override { queue_.push_back(t); }
  void attach(detail::TaskHeader* t) override { live_.insert(t); }
  void detach(detail::TaskHeader* t) noexcept override { live_.erase(t); }

  template <class T>
  JoinHandle<T> spawn(Task<T> task) {
    return detail::spawn_on(this, std::move(task));
  }

  // Runs one queued task slice; false if nothing was queued.
  bool run_one() {
    if (queue_.empty()) return false;
    std::size_t i =
        random_ ? std::uniform_int_distribution<std::size_t>(0, queue_.size() - 1)(rng_) : 0;
    detail::TaskHeader* t = queue_[i];
    queue_.erase(queue_.begin() + static_cast<std::ptrdiff_t>(i));
    detail::run_task(t);
    ++runs_;
    return true;
  }
  // Runs until no task is queued; returns the number of slices run.
  std::size_t run() {
    std::size_t n = 0;
    while (run_one()) ++n;
    return n;
  }
  // Picks queued tasks in a random order from now on.
  void randomize(std::uint64_t seed) {
    random_ = true;
    rng_.seed(seed);
  }

  std::size_t queued() const noexcept { return queue_.size(); }
  std::size_t live() const noexcept { return live_.size(); }
  std::size_t runs() const noexcept { return runs_; }

  // Cancels every unfinished task (destroys its frame) and drops queued references.
  void shutdown() {
    while (!live_.empty() || !queue_.empty()) {
      while (!live_.empty()) detail::teardown_task(*live_.begin());
      while (!queue_.empty()) {
        detail::TaskHeader* t = queue_.front();
        queue_.pop_front();
        detail::release_queued(t);
      }
    }
  }

 private:
  std::deque<detail::TaskHeader*> queue_;
  std::set<detail::TaskHeader*> live_;
  bool random_ = false;
  std::mt19937_64 rng_;
  std::size_t runs_ = 0;
};

}  // namespace executor::test
