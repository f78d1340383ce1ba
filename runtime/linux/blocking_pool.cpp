#include "blocking_pool.hpp"

#include <pthread.h>

#include <cstdlib>
#include <string>
#include <system_error>
#include <thread>
#include <typeinfo>

#include <fmt/core.h>

namespace executor {

namespace detail {

namespace {

long env_number(const char* name, long lo, long hi, long fallback) {
  const char* v = std::getenv(name);
  if (v == nullptr) return fallback;
  char* end = nullptr;
  long r = std::strtol(v, &end, 10);
  if (end == v || *end != '\0' || r < lo || r > hi) {
    fmt::print(stderr, "executor: ignoring {}={:?} (expected an integer in {}..{})\n", name, v, lo,
               hi);
    return fallback;
  }
  return r;
}

constexpr unsigned kMaxThreadsLimit = 65536;

bool valid(const BlockingPoolOptions& o) {
  return o.max_threads >= 1 && o.max_threads <= kMaxThreadsLimit &&
         o.keep_alive >= std::chrono::milliseconds(1);
}

}  // namespace

BlockingPool& BlockingPool::instance() {
  // Never destroyed: see the design note.
  static BlockingPool* pool = new BlockingPool();
  return *pool;
}

BlockingPool::BlockingPool() {
  options_.max_threads = static_cast<unsigned>(
      env_number("EXECUTOR_MAX_BLOCKING_THREADS", 1, kMaxThreadsLimit, options_.max_threads));
  options_.keep_alive = std::chrono::milliseconds(
      env_number("EXECUTOR_BLOCKING_KEEP_ALIVE_MS", 1, 86'400'000, options_.keep_alive.count()));
}

BlockingJob* BlockingPool::pop_locked() noexcept {
  BlockingJob* j = head_;
  if (j == nullptr) return nullptr;
  head_ = j->next;
  if (head_ == nullptr) tail_ = nullptr;
  j->next = nullptr;
  --queued_;
  return j;
}

void BlockingPool::submit(BlockingJob* job) {
  job->next = nullptr;
  {
    std::unique_lock lock(mu_);
    if (tail_ != nullptr) {
      tail_->next = job;
    } else {
      head_ = job;
    }
    tail_ = job;
    ++queued_;
    if (!idle_.empty()) {
      IdleThread* t = idle_.back();
      idle_.pop_back();
      t->signalled = true;
      // Notified under the lock: `t` lives on the idle thread's stack and may be gone as soon
      // as the lock is released (it could time out, see the signal and leave).
      t->cv.notify_one();
      return;
    }
    if (threads_ >= options_.max_threads) return;  // a busy thread will take it
    ++threads_;
  }
  if (start_thread()) return;

  std::lock_guard lock(mu_);
  --threads_;
  if (threads_ != 0) return;  // another thread will reach the job
  // Nobody can run the job: take it back (it is still queued, no thread exists to pop it).
  BlockingJob** link = &head_;
  BlockingJob* prev = nullptr;
  while (*link != nullptr && *link != job) {
    prev = *link;
    link = &(*link)->next;
  }
  if (*link == job) {
    *link = job->next;
    if (tail_ == job) tail_ = prev;
    --queued_;
  }
  throw std::system_error(std::make_error_code(std::errc::resource_unavailable_try_again),
                          "executor::spawn_blocking: cannot start a blocking-pool thread");
}

bool BlockingPool::start_thread() noexcept {
  try {
    std::thread([this] { thread_main(); }).detach();
    return true;
  } catch (const std::system_error&) {
    return false;
  }
}

void BlockingPool::thread_main() noexcept {
  pthread_setname_np(pthread_self(), "executor-block");
  IdleThread self;
  std::unique_lock lock(mu_);
  for (;;) {
    if (threads_ > options_.max_threads) {  // configure() lowered the bound: leave
      exit_locked();
      return;
    }
    if (BlockingJob* job = pop_locked()) {
      lock.unlock();
      job->run(job);
      lock.lock();
      continue;
    }
    self.signalled = false;
    idle_.push_back(&self);
    auto deadline = std::chrono::steady_clock::now() + options_.keep_alive;
    if (!self.cv.wait_until(lock, deadline, [&] { return self.signalled; })) {
      // Timed out: nobody popped us from the idle stack. Leave it, and exit unless a job
      // arrived at the last moment.
      for (auto it = idle_.begin(); it != idle_.end(); ++it) {
        if (*it == &self) {
          idle_.erase(it);
          break;
        }
      }
      if (queued_ == 0) {
        exit_locked();
        return;
      }
    }
  }
}

void BlockingPool::exit_locked() noexcept {
  --threads_;
  // Jobs left behind (the bound was lowered): make sure an idle thread looks at them.
  if (queued_ != 0 && !idle_.empty()) {
    IdleThread* t = idle_.back();
    idle_.pop_back();
    t->signalled = true;
    t->cv.notify_one();
  }
}

absl::Status BlockingPool::configure(const BlockingPoolOptions& options) {
  if (!valid(options)) {
    return absl::InvalidArgumentError(
        "executor::configure_blocking_pool: max_threads must be in 1..65536 and keep_alive at "
        "least 1 ms");
  }
  std::lock_guard lock(mu_);
  options_ = options;
  // Let idle threads re-evaluate (new keep-alive, or exit if above the new bound).
  for (IdleThread* t : idle_) {
    t->signalled = true;
    t->cv.notify_one();
  }
  idle_.clear();
  return absl::OkStatus();
}

BlockingPoolStats BlockingPool::stats() {
  std::lock_guard lock(mu_);
  return BlockingPoolStats{threads_, static_cast<unsigned>(idle_.size()), queued_};
}

void submit_blocking(BlockingJob* job) {
  BlockingPool::instance().submit(job);
}

void report_unobserved_blocking_exception(const std::exception_ptr& e) noexcept {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    fmt::print(stderr, "executor: detached blocking job threw {}: {}\n", typeid(ex).name(),
               ex.what());
  } catch (...) {
    fmt::print(stderr, "executor: detached blocking job threw a non-std::exception\n");
  }
}

}  // namespace detail

absl::Status configure_blocking_pool(const BlockingPoolOptions& options) {
  return detail::BlockingPool::instance().configure(options);
}

BlockingPoolStats blocking_pool_stats() {
  return detail::BlockingPool::instance().stats();
}

}  // namespace executor
