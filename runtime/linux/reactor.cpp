#include "reactor.hpp"

#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <system_error>

#include <fmt/format.h>

#include "runtime_impl.hpp"

namespace executor::detail {

namespace {

constexpr std::uint64_t kWakeTag = 1;  // user_data of the eventfd read (ops are aligned pointers)

std::string read_io_uring_disabled() {
  std::ifstream f("/proc/sys/kernel/io_uring_disabled");
  std::string v;
  if (f >> v) return v;
  return {};
}

[[noreturn]] void throw_setup_error(int err) {
  std::string cause;
  std::string disabled = read_io_uring_disabled();
  if (err == EPERM && !disabled.empty() && disabled != "0") {
    cause = fmt::format(
        "the kernel disables io_uring (sysctl kernel.io_uring_disabled={}). Set it to 0, or "
        "add this user to the group named by kernel.io_uring_group",
        disabled);
  } else if (err == EPERM) {
    cause =
        "io_uring is blocked for this process, usually by a seccomp profile (Docker's default "
        "profile blocks it since 2023). Run with a profile that allows io_uring_setup, "
        "io_uring_enter and io_uring_register";
  } else if (err == ENOSYS) {
    cause = "this kernel has no io_uring (built without CONFIG_IO_URING, or older than 5.1)";
  } else if (err == ENOMEM) {
    cause =
        "the ring could not be allocated; older kernels charge it to RLIMIT_MEMLOCK: raise "
        "`ulimit -l` or use fewer ring entries";
  } else {
    cause = "unexpected error from io_uring_setup";
  }
  throw std::system_error(
      err, std::generic_category(),
      fmt::format("executor: cannot set up io_uring ({}): {}", std::strerror(err), cause));
}

}  // namespace

Reactor::Reactor(RuntimeImpl& rt, unsigned entries) : rt_(rt), entries_(entries) {
  io_uring_params p{};
  // The CQ is 4x the SQ so completions never overflow while in-flight ops are bounded by it.
  // SINGLE_ISSUER binds the ring to the thread that enables it: it starts disabled
  // (R_DISABLED) and the completion thread enables it (loop()), so only that thread enters it.
  p.flags = IORING_SETUP_CQSIZE | IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_COOP_TASKRUN |
            IORING_SETUP_R_DISABLED;
  p.cq_entries = entries * 4;
  int r = io_uring_queue_init_params(entries, &ring_, &p);
  if (r == -EINVAL) {  // older kernel: retry without the newer flags
    p = io_uring_params{};
    p.flags = IORING_SETUP_CQSIZE;
    p.cq_entries = entries * 4;
    r = io_uring_queue_init_params(entries, &ring_, &p);
  }
  if (r < 0) throw_setup_error(-r);
  cq_capacity_ = p.cq_entries - 1;  // one slot for the eventfd read
  if ((p.features & IORING_FEAT_NODROP) == 0) {
    io_uring_queue_exit(&ring_);
    throw std::system_error(ENOTSUP, std::generic_category(),
                            "executor: this kernel's io_uring lacks IORING_FEAT_NODROP (needs "
                            "Linux 5.5 or newer)");
  }
  event_fd_ = ::eventfd(0, EFD_CLOEXEC);
  if (event_fd_ < 0) {
    int err = errno;
    io_uring_queue_exit(&ring_);
    throw std::system_error(err, std::generic_category(), "executor: eventfd");
  }
}

Reactor::~Reactor() {
  stop();
  io_uring_queue_exit(&ring_);
  if (event_fd_ >= 0) ::close(event_fd_);
}

void Reactor::start() {
  thread_ = std::thread([this] { loop(); });
}

void Reactor::stop() noexcept {
  if (!thread_.joinable()) return;
  stop_.store(true, std::memory_order_seq_cst);
  sleeping_.store(false, std::memory_order_relaxed);
  std::uint64_t one = 1;
  [[maybe_unused]] ssize_t w = ::write(event_fd_, &one, sizeof one);
  thread_.join();
}

void Reactor::wake() noexcept {
  // seq_cst: pairs with the completion thread's store(true) + re-check (Dekker).
  if (sleeping_.exchange(false, std::memory_order_seq_cst)) {
    std::uint64_t one = 1;
    [[maybe_unused]] ssize_t w = ::write(event_fd_, &one, sizeof one);
  }
}

void Reactor::submit(IoOp* op) noexcept {
  IoOp* head = submissions_.load(std::memory_order_relaxed);
  do {
    op->next = head;
    // seq_cst: release publishes the op's fields to the completion thread's exchange; the total
    // order pairs with the sleeping_ handshake in wake().
  } while (!submissions_.compare_exchange_weak(head, op, std::memory_order_seq_cst,
                                               std::memory_order_relaxed));
  wake();
}

void Reactor::add_timer(TimerNode* n) {
  bool earliest;
  {
    std::lock_guard lock(timer_mu_);
    n->owner = this;
    timers_.push(n);
    earliest = timers_.top() == n;
  }
  if (earliest) wake();
}

void Reactor::cancel_timer(TimerNode* n) noexcept {
  Waker dropped;
  {
    std::lock_guard lock(timer_mu_);
    if (n->heap_index == TimerNode::kNotQueued) return;  // fired (or never armed)
    timers_.remove(n);
    dropped = std::move(n->waker);
  }
}

std::size_t Reactor::pending_timers() const noexcept {
  std::lock_guard lock(timer_mu_);
  return timers_.size();
}

io_uring_sqe* Reactor::get_sqe() noexcept {
  io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
  if (sqe == nullptr) {
    io_uring_submit(&ring_);  // SQ full: flush and try again
    sqe = io_uring_get_sqe(&ring_);
  }
  return sqe;
}

void Reactor::arm_wake_read() noexcept {
  io_uring_sqe* sqe = get_sqe();
  if (sqe == nullptr) return;  // retried on the next loop iteration (armed_ stays false)
  io_uring_prep_read(sqe, event_fd_, &event_buf_, sizeof event_buf_, 0);
  io_uring_sqe_set_data64(sqe, kWakeTag);
  wake_armed_ = true;
}

void Reactor::drain_submissions() noexcept {
  // acquire: pairs with the release in submit() so each op's fields are visible.
  IoOp* stack = submissions_.exchange(nullptr, std::memory_order_acquire);
  // The stack is LIFO; reverse it to submit in arrival order.
  IoOp* fifo = nullptr;
  while (stack != nullptr) {
    IoOp* next = stack->next;
    stack->next = fifo;
    fifo = stack;
    stack = next;
  }
  for (IoOp* op = fifo; op != nullptr;) {
    IoOp* next = op->next;
    backlog_.push_back(op);
    op = next;
  }
  std::size_t done = 0;
  for (; done < backlog_.size(); ++done) {
    // Bound in-flight operations by the CQ size so completions can never overflow it.
    if (in_flight_ >= cq_capacity_) break;
    io_uring_sqe* sqe = get_sqe();
    if (sqe == nullptr) break;
    IoOp* op = backlog_[done];
    op->prep(op, sqe);
    io_uring_sqe_set_data(sqe, op);
    ++in_flight_;
  }
  backlog_.erase(backlog_.begin(), backlog_.begin() + static_cast<std::ptrdiff_t>(done));
}

void Reactor::fire_timers(std::chrono::steady_clock::time_point now) noexcept {
  fired_.clear();
  {
    std::lock_guard lock(timer_mu_);
    while (TimerNode* top = timers_.top()) {
      if (top->deadline > now) break;
      timers_.pop();
      fired_.push_back(std::move(top->waker));
    }
  }
  for (Waker& w : fired_) w.wake();  // after unlocking: waking may take the inject lock
  fired_.clear();
}

void Reactor::loop() noexcept {
  // Precise timers: the default 50 us slack would dominate the timer benchmark's overshoot.
  ::prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
  RuntimeImpl::BatchScope batch(rt_);  // schedule() from this thread batches into the inject queue
  if ((ring_.flags & IORING_SETUP_R_DISABLED) != 0) {
    // HACK(liburing 2.3 declares io_uring_enable_rings but Debian's library does not export
    // it): issue the register call directly.
    long r =
        ::syscall(__NR_io_uring_register, ring_.ring_fd, IORING_REGISTER_ENABLE_RINGS, nullptr, 0);
    if (r < 0) {
      fmt::print(stderr, "executor: enabling the io_uring failed: {}\n", std::strerror(errno));
      std::abort();
    }
  }
  arm_wake_read();
  while (!stop_.load(std::memory_order_acquire)) {
    if (!wake_armed_) arm_wake_read();
    drain_submissions();
    auto now = std::chrono::steady_clock::now();
    fire_timers(now);
    batch.flush();

    // Going to sleep: announce it, then re-check everything a producer may have published.
    sleeping_.store(true, std::memory_order_seq_cst);
    __kernel_timespec ts{};
    __kernel_timespec* tsp = nullptr;
    bool runnable = submissions_.load(std::memory_order_seq_cst) != nullptr ||
                    stop_.load(std::memory_order_seq_cst);
    {
      std::lock_guard lock(timer_mu_);
      if (TimerNode* top = timers_.top()) {
        auto now2 = std::chrono::steady_clock::now();
        if (top->deadline <= now2) {
          runnable = true;
        } else {
          auto d = std::chrono::duration_cast<std::chrono::nanoseconds>(top->deadline - now2);
          ts.tv_sec = d.count() / 1'000'000'000;
          ts.tv_nsec = d.count() % 1'000'000'000;
          tsp = &ts;
        }
      }
    }
    if (runnable) {
      sleeping_.store(false, std::memory_order_relaxed);
      if (io_uring_sq_ready(&ring_) > 0) io_uring_submit(&ring_);
    } else {
      io_uring_cqe* cqe = nullptr;
      int r = io_uring_submit_and_wait_timeout(&ring_, &cqe, 1, tsp, nullptr);
      sleeping_.store(false, std::memory_order_relaxed);
      // -ETIME: the timer deadline; -EINTR: a signal; -EBUSY/-EAGAIN: the kernel wants us to
      // reap first (we do, below). Anything else is a broken ring: fail loudly, never spin.
      if (r < 0 && r != -ETIME && r != -EINTR && r != -EBUSY && r != -EAGAIN) {
        fmt::print(stderr, "executor: io_uring wait failed: {}\n", std::strerror(-r));
        std::abort();
      }
    }

    unsigned head;
    unsigned seen = 0;
    io_uring_cqe* cqe;
    io_uring_for_each_cqe(&ring_, head, cqe) {
      ++seen;
      std::uint64_t ud = io_uring_cqe_get_data64(cqe);
      if (ud == kWakeTag) {
        wake_armed_ = false;
        continue;
      }
      if (ud == 0) continue;  // internal ops with no owner (e.g. async cancel by fd)
      auto* op = reinterpret_cast<IoOp*>(static_cast<std::uintptr_t>(ud));
      --in_flight_;
      op->complete(op, cqe->res, cqe->flags);
    }
    io_uring_cq_advance(&ring_, seen);
  }
  batch.flush();
}

}  // namespace executor::detail
