// The blocking pool behind executor::spawn_blocking (and the C API's blocking tasks).
//
// Design
// ------
// One process-wide pool, created on first use and never destroyed (so process exit never waits
// for, or races with, a job that is still running). It owns no tasks: jobs are intrusive
// `BlockingJob` nodes whose owners (a BlockingCell, an FFI task) outlive their run.
//
// All fields are guarded by `mu_`:
//   queue (head_/tail_/queued_)  FIFO of jobs not yet taken by a thread
//   threads_                     threads alive, counted from just before creation until exit
//   idle_                        LIFO stack of threads waiting for work, each with its own
//                                condition variable and `signalled` flag
//   options_                     max_threads / keep_alive (configure())
//
// Thread life:   start (submit: queue non-empty, no idle thread, threads_ < max)
//                  -> busy: pop jobs until the queue is empty
//                  -> idle: pushed on idle_, waits up to keep_alive for a signal
//                       signalled (submit popped it from idle_)  -> busy
//                       timed out and queue empty                -> exit
//                -> exit early when threads_ > max_threads (after configure() lowered it)
// Signalling exactly one idle thread per submit (popped from the LIFO stack under the lock)
// means a burst of N jobs wakes or starts N threads, and the most recently active threads stay
// warm while surplus ones at the bottom of the stack time out and exit.
//
// Threads are detached. Thread creation happens outside the lock; if it fails while no other
// thread exists, submit() takes the job back and throws.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <vector>

#include <absl/status/status.h>

#include <executor/spawn_blocking.hpp>

namespace executor::detail {

class BlockingPool {
 public:
  // The process-wide pool (created on first use; options from the environment).
  static BlockingPool& instance();

  void submit(BlockingJob* job);
  absl::Status configure(const BlockingPoolOptions& options);
  BlockingPoolStats stats();

 private:
  struct IdleThread {
    std::condition_variable cv;
    bool signalled = false;
  };

  BlockingPool();
  void thread_main() noexcept;
  BlockingJob* pop_locked() noexcept;
  bool start_thread() noexcept;  // threads_ already counted; false if creation failed
  void exit_locked() noexcept;   // the calling thread leaves the pool

  std::mutex mu_;
  BlockingJob* head_ = nullptr;
  BlockingJob* tail_ = nullptr;
  std::size_t queued_ = 0;
  unsigned threads_ = 0;
  std::vector<IdleThread*> idle_;
  BlockingPoolOptions options_;
};

}  // namespace executor::detail
