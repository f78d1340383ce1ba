// The completion thread: one thread that owns the io_uring instance, submits the operations
// workers hand it, waits on the completion queue, and fires timers.
//
// Design
// ------
// Workers never touch the ring. `submit()` pushes the operation onto a lock-free MPSC stack
// (Treiber push; the completion thread takes the whole stack with one exchange) and wakes the
// completion thread only if it is asleep: while it is awake, submissions cost one CAS and no
// syscall, and the thread batches them into one io_uring_enter. Because a single thread enters
// the ring it is set up with IORING_SETUP_SINGLE_ISSUER (and DEFER_TASKRUN where available).
//
// Timers are a mutex-protected binary heap (TimerHeap); the completion thread waits in
// io_uring_submit_and_wait_timeout with the earliest deadline. Inserting a new earliest timer
// wakes the thread (if asleep).
//
// Wake-up: an eventfd with a read always pending in the ring; writing it completes the read.
// `sleeping_` implements the Dekker handshake: the thread stores true then re-checks its queues;
// a producer publishes then exchanges it to false, and writes the eventfd only if it was true.
//
// Fields: ring_, timers_ contents (under timer_mu_), pending_ — completion thread only after
// start(); submissions_, sleeping_ — any thread, atomically; stop_ — any thread.
//
// Shutdown (stop()): sets stop_, wakes the thread, joins it. Operations still in flight are the
// I/O layer's responsibility to cancel before it releases their memory.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

#include <liburing.h>

#include <executor/detail/io_op.hpp>
#include <executor/detail/timer_node.hpp>

#include "timer_heap.hpp"

namespace executor::detail {

class RuntimeImpl;

class Reactor {
 public:
  // Sets up the ring. Throws std::system_error naming the cause and the remedy when io_uring is
  // unavailable (EPERM/ENOSYS/ENOMEM, kernel.io_uring_disabled).
  Reactor(RuntimeImpl& rt, unsigned entries);
  ~Reactor();
  Reactor(const Reactor&) = delete;
  Reactor& operator=(const Reactor&) = delete;

  void start();
  void stop() noexcept;

  void submit(IoOp* op) noexcept;
  void add_timer(TimerNode* n);
  void cancel_timer(TimerNode* n) noexcept;

  std::size_t pending_timers() const noexcept;

 private:
  void loop() noexcept;
  void wake() noexcept;
  void drain_submissions() noexcept;
  void fire_timers(std::chrono::steady_clock::time_point now) noexcept;
  void arm_wake_read() noexcept;
  io_uring_sqe* get_sqe() noexcept;

  RuntimeImpl& rt_;
  io_uring ring_{};
  unsigned entries_;
  int event_fd_ = -1;
  std::uint64_t event_buf_ = 0;
  std::thread thread_;
  // --- completion thread only ---
  std::vector<IoOp*> backlog_;  // ops waiting for SQ space or in-flight budget
  std::vector<Waker> fired_;    // timers fired in one pass
  unsigned in_flight_ = 0;
  unsigned cq_capacity_ = 0;
  bool wake_armed_ = false;

  alignas(64) std::atomic<IoOp*> submissions_{nullptr};
  alignas(64) std::atomic<bool> sleeping_{false};
  std::atomic<bool> stop_{false};

  mutable std::mutex timer_mu_;
  TimerHeap timers_;
};

}  // namespace executor::detail
