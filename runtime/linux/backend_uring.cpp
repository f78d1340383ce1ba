// The io_uring backend.
//
// Design
// ------
// The ring is created disabled (IORING_SETUP_R_DISABLED) by the runtime's constructor, so that
// setup errors surface there, and enabled by the completion thread (attach_thread), which makes
// that thread the ring's single issuer (SINGLE_ISSUER + DEFER_TASKRUN where the kernel has them).
//
// No completion is ever lost: the CQ is 4x the SQ (at least 16) and the kernel must have
// IORING_FEAT_NODROP, so a burst of completions larger than the CQ is kept by the kernel (its
// overflow list) and handed over by the next io_uring_enter(GETEVENTS), which every wait does.
// Completions are not bounded by the CQ size on purpose: operations such as an accept or a
// receive on an idle connection may stay in flight for hours, and a server must be able to
// keep more of them than the CQ has entries. In-flight operations are bounded (kMaxInFlight,
// for memory); beyond it, and when the SQ is full, ops wait in `backlog_` (FIFO, doubly linked
// so that a cancel can take one out) and are issued as others complete. -EBUSY/-EAGAIN from
// io_uring_enter leave the SQEs in the SQ ring; they go again after reaping. A CQE the kernel
// could not even keep (its overflow allocation failed: cq.koverflow grows) is a lost wake-up,
// so the backend stops the process with a message rather than hang.
//
// user_data: the op's address (ops are 8-aligned); the op's address | 1 for its linked timeout;
// kWakeTag for the eventfd read that notify() completes; kCancelTag / kCancelAllTag for
// ASYNC_CANCEL requests (their results need no action).
//
// Per-op state (IoOp::bflags, bcount = CQEs still expected, bres = the op's own result),
// completion thread only:
//
//   submit ──> backlog ──issue()──> in kernel ──last CQE──> done (complete() called)
//                 └──cancel()──> done (-ECANCELED)    └──cancel()──> ASYNC_CANCEL issued
//
// Multishot ops (kRecvMultishot, kAcceptMultishot): one SQE, many CQEs. Every CQE with
// IORING_CQE_F_MORE (and a final one that carries a buffer) is reported through op->more at once,
// under whatever lock the dispatcher holds; the CQE without F_MORE is the op's end and its
// complete(). Its provided-buffer ring (provided_buffers.hpp) is registered on this ring when the
// op is issued, with a buffer group id from this ring's allocator (bgids_), and unregistered at
// that final CQE, so a re-armed op may go to another ring and the ring memory is never registered
// twice.
#include <liburing.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "backend.hpp"
#include "provided_buffers.hpp"
#include "worker_ring.hpp"

namespace executor::detail {

namespace {

static_assert(kFsyncDatasync == IORING_FSYNC_DATASYNC);

constexpr std::uint64_t kWakeTag = 1;
constexpr std::uint64_t kCancelTag = 2;
constexpr std::uint64_t kCancelAllTag = 3;
constexpr std::uint64_t kTimeoutBit = 1;

constexpr std::size_t kMaxInFlight = std::size_t{1} << 20;

// IoOp::bflags
constexpr std::uint32_t kInBacklog = 1u << 0;
constexpr std::uint32_t kInKernel = 1u << 1;
constexpr std::uint32_t kCancelIssued = 1u << 2;    // an ASYNC_CANCEL SQE targets the op
constexpr std::uint32_t kCancelDeferred = 1u << 3;  // in deferred_cancels_ (no SQE was free)
constexpr std::uint32_t kTimedOut = 1u << 4;        // the linked timeout fired
constexpr std::uint32_t kDone = 1u << 5;
constexpr std::uint32_t kPoolRegistered = 1u << 6;  // its provided-buffer ring is registered
constexpr std::uint32_t kStopped = 1u << 7;         // a multishot op that `more` asked to stop

std::string read_io_uring_disabled() {
  std::ifstream f("/proc/sys/kernel/io_uring_disabled");
  std::string v;
  if (f >> v) return v;
  return {};
}

std::string explain_setup_error(int err) {
  std::string disabled = read_io_uring_disabled();
  if (err == EPERM && !disabled.empty() && disabled != "0") {
    return fmt::format(
        "the kernel disables io_uring (sysctl kernel.io_uring_disabled={}). Set it to 0, or add "
        "this user to the group named by kernel.io_uring_group",
        disabled);
  }
  if (err == EPERM || err == EACCES) {
    return "io_uring is blocked for this process, usually by a seccomp profile (Docker's default "
           "profile blocks it since 2023). Run with a profile that allows io_uring_setup, "
           "io_uring_enter and io_uring_register";
  }
  if (err == ENOSYS) {
    return "this kernel has no io_uring (built without CONFIG_IO_URING, or older than 5.1)";
  }
  if (err == ENOMEM) {
    return "the ring could not be allocated; older kernels charge it to RLIMIT_MEMLOCK: raise "
           "`ulimit -l` or use fewer ring entries";
  }
  if (err == ENOTSUP) {
    return "this kernel's io_uring lacks IORING_FEAT_NODROP/EXT_ARG (needs Linux 5.11 or newer)";
  }
  return "unexpected error from io_uring_setup";
}

class UringBackend final : public Backend {
 public:
  // worker: a WorkerRing's ring (no single issuer: cancels come from any thread, under the
  // WorkerRing's lock; completions are collected for take_done() instead of being called).
  explicit UringBackend(bool worker = false) : worker_(worker) {}
  ~UringBackend() override {
    if (ring_ready_) io_uring_queue_exit(&ring_);
    if (event_fd_ >= 0) ::close(event_fd_);
  }

  // Returns 0 or an errno. A worker ring signals `notify_fd` (registered as its eventfd).
  int setup(unsigned entries, int notify_fd = -1) {
    entries = std::max(entries, 2u);  // a linked timeout needs two SQEs
    unsigned cq = std::max(entries * 4, 16u);
    // Strongest configuration first; older kernels reject unknown flags with EINVAL. A worker
    // ring has no SINGLE_ISSUER (cancels come from other threads) and so no DEFER_TASKRUN. It
    // has COOP_TASKRUN: a completion's task_work (a socket became readable, the kernel finishes
    // the receive in the owner's context) no longer interrupts a running owner with an IPI for
    // each batch; the owner runs it at its next system call (its flush enters the ring when
    // TASKRUN_FLAG shows work pending, see flush_ring) or, in a long task, at its next timer
    // tick. A parked owner still wakes for it: it sleeps interruptibly in a futex, and the
    // kernel wakes sleeping tasks for task_work (tcp_echo: 14% more messages/s, 5% less CPU per
    // message, docs/performance.md).
    const unsigned main_sets[] = {
        IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_R_DISABLED,
        IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_COOP_TASKRUN | IORING_SETUP_R_DISABLED,
        0u,
    };
    const unsigned worker_sets[] = {IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG, 0u};
    io_uring_params p{};
    int r = -EINVAL;
    for (unsigned flags :
         worker_ ? std::span<const unsigned>(worker_sets) : std::span<const unsigned>(main_sets)) {
      p = io_uring_params{};
      p.flags = IORING_SETUP_CQSIZE | flags;
      p.cq_entries = cq;
      r = io_uring_queue_init_params(entries, &ring_, &p);
      if (r != -EINVAL) break;
    }
    if (r < 0) return -r;
    ring_ready_ = true;
    disabled_ = (p.flags & IORING_SETUP_R_DISABLED) != 0;
    if ((p.features & IORING_FEAT_NODROP) == 0 || (p.features & IORING_FEAT_EXT_ARG) == 0) {
      return ENOTSUP;
    }
    if (worker_) {
      r = io_uring_register_eventfd(&ring_, notify_fd);
      return r < 0 ? -r : 0;
    }
    event_fd_ = ::eventfd(0, EFD_CLOEXEC);
    if (event_fd_ < 0) return errno;
    return 0;
  }

  int notify_fd() const noexcept override { return event_fd_; }

  // --- worker ring (under the WorkerRing's lock) ---

  // Enables or disables the registered eventfd; the caller then re-checks the CQ. The flag must
  // be visible before that load of the kernel's CQ tail: a seq_cst exchange (a locked xchg, a
  // full barrier, on x86) orders it (see worker_ring.hpp for the kernel's side). Only the
  // thread holding the WorkerRing's lock writes the flag; the kernel only reads it.
  void set_notify(bool on) noexcept {
    unsigned* flags = ring_.cq.kflags;
    unsigned v = __atomic_load_n(flags, __ATOMIC_RELAXED);
    v = on ? (v & ~IORING_CQ_EVENTFD_DISABLED) : (v | IORING_CQ_EVENTFD_DISABLED);
    (void)__atomic_exchange_n(flags, v, __ATOMIC_SEQ_CST);
  }
  // CQEs to dispatch (in the ring, or held back by the kernel on overflow). Any thread, without
  // the lock: a hint. relaxed on the head (written by whoever holds the lock; a stale value only
  // means one more or one fewer look), acquire on the tail (the kernel's release publishes the
  // CQEs).
  bool has_events() const noexcept {
    unsigned head = __atomic_load_n(ring_.cq.khead, __ATOMIC_RELAXED);
    unsigned tail = __atomic_load_n(ring_.cq.ktail, __ATOMIC_ACQUIRE);
    return head != tail ||
           (__atomic_load_n(ring_.sq.kflags, __ATOMIC_RELAXED) & IORING_SQ_CQ_OVERFLOW) != 0;
  }
  // Worker ring, its owner: completions whose task_work waits for the owner to enter the kernel
  // (COOP_TASKRUN; the kernel sets the flag). relaxed: a hint, like has_events(); a stale
  // value costs one enter, or leaves the work to the owner's next system call.
  bool taskrun_pending() const noexcept {
    return (__atomic_load_n(ring_.sq.kflags, __ATOMIC_RELAXED) & IORING_SQ_TASKRUN) != 0;
  }
  // Starts everything prepared and dispatches what completed; enters the ring only when there
  // is something to submit, the kernel holds back overflowed CQEs, or (`owner`: called by the
  // ring's owner worker) task_work of the owner's waits to post completions. Other threads
  // entering for the owner's task_work would run only their own.
  void flush_ring(bool owner = false) noexcept {
    retry_deferred_cancels();
    issue_backlog();
    if (io_uring_sq_ready(&ring_) != 0 || io_uring_cq_has_overflow(&ring_) ||
        (owner && taskrun_pending())) {
      io_uring_submit_and_get_events(&ring_);
    }
    dispatch();
    issue_backlog();  // slots freed by the completions
    // The SQ is empty whenever the lock is free (see worker_ring.hpp): submit what is left.
    // -EBUSY/-EAGAIN leave entries in the SQ; the next flush retries them.
    if (io_uring_sq_ready(&ring_) != 0) io_uring_submit(&ring_);
  }
  // The completions collected since the last call (linked through `next`, result in `bres`).
  IoOp* take_done() noexcept {
    IoOp* d = done_head_;
    done_head_ = done_tail_ = nullptr;
    return d;
  }

  const char* name() const noexcept override { return "io_uring"; }

  int attach_thread() noexcept override {
    if (disabled_) {
      // HACK(Debian liburing 2.3 declares io_uring_enable_rings but does not export it): the
      // raw register call.
      if (::syscall(__NR_io_uring_register, ring_.ring_fd, IORING_REGISTER_ENABLE_RINGS, nullptr,
                    0) < 0) {
        return errno;
      }
    }
    io_uring_register_ring_fd(&ring_);  // optional: saves an fd lookup per io_uring_enter
    return 0;
  }

  void submit(IoOp* op) noexcept override {
    in_flight_.store(in_flight_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    op->bflags = 0;
    op->bcount = 0;
    op->bres = 0;
    if (op->cancel_requested.load(std::memory_order_relaxed) && (op->options & kOpNoCancel) == 0) {
      finish(op, -ECANCELED);  // cancelled before it reached us: never start it
      return;
    }
    if (backlog_head_ == nullptr && issue(op)) return;
    backlog_push(op);
  }

  void cancel(IoOp* op) noexcept override {
    std::uint32_t f = op->bflags;
    if ((f & kDone) != 0 || (op->options & kOpNoCancel) != 0) return;
    // A worker ring's op still on its owner's pending list: the owner's flush sees
    // cancel_requested and completes it with -ECANCELED without starting it.
    if (worker_ && (f & (kInBacklog | kInKernel)) == 0) return;
    if ((f & kInBacklog) != 0) {
      backlog_unlink(op);
      finish(op, -ECANCELED);
      return;
    }
    if ((f & (kCancelIssued | kCancelDeferred)) != 0) return;
    issue_cancel(op);
  }

  // Ends a multishot op in the kernel early (a `more` that returns false, WorkerRing::stop): an
  // ASYNC_CANCEL whose final result then reads as stopped (> 0), not cancelled. Nothing if the op
  // is not in the kernel, or a cancel or stop is already on its way.
  void stop(IoOp* op) noexcept {
    std::uint32_t f = op->bflags;
    if ((f & kInKernel) == 0 || (f & (kDone | kCancelIssued | kCancelDeferred | kStopped)) != 0) {
      return;
    }
    op->bflags |= kStopped;
    issue_cancel(op);
  }

  void cancel_all() noexcept override {
    cancel_all_prepare();
    if (worker_ && io_uring_sq_ready(&ring_) != 0) io_uring_submit(&ring_);
  }

  void cancel_all_prepare() noexcept {
    // Ops not yet issued complete at once (close ops are still issued: they must happen).
    for (IoOp* op = backlog_head_; op != nullptr;) {
      IoOp* next = op->next;
      if ((op->options & kOpNoCancel) == 0) {
        backlog_unlink(op);
        finish(op, -ECANCELED);
      }
      op = next;
    }
    io_uring_sqe* sqe = get_sqe();
    if (sqe == nullptr) return;  // the ops then complete on their own (bounded by kStopGrace)
    io_uring_prep_cancel64(sqe, 0, IORING_ASYNC_CANCEL_ANY);
    io_uring_sqe_set_data64(sqe, kCancelAllTag);
  }

  std::size_t wait(const TimePoint* deadline) noexcept override {
    retry_deferred_cancels();
    issue_backlog();
    if (!worker_ && !wake_armed_) arm_wake_read();
    int r;
    if (deadline != nullptr && *deadline <= std::chrono::steady_clock::now()) {
      r = io_uring_submit_and_get_events(&ring_);
    } else {
      __kernel_timespec ts{};
      __kernel_timespec* tsp = nullptr;
      if (deadline != nullptr) {
        auto d = std::chrono::duration_cast<std::chrono::nanoseconds>(
            *deadline - std::chrono::steady_clock::now());
        long long ns = std::max<long long>(d.count(), 0);
        ts.tv_sec = ns / 1'000'000'000;
        ts.tv_nsec = ns % 1'000'000'000;
        tsp = &ts;
      }
      io_uring_cqe* cqe = nullptr;
      r = io_uring_submit_and_wait_timeout(&ring_, &cqe, 1, tsp, nullptr);
    }
    if (r == -EEXIST) {
      std::fputs("executor: io_uring entered from a thread that is not its issuer\n", stderr);
      std::abort();
    }
    // Other errors (-ETIME, -EINTR, -EBUSY, -EAGAIN) need nothing but reaping: unsubmitted SQEs
    // stay in the SQ ring and go with the next io_uring_enter.
    std::size_t before = in_flight();
    dispatch();
    issue_backlog();
    return before - in_flight();
  }

  std::size_t in_flight() const noexcept override {
    return in_flight_.load(std::memory_order_relaxed);
  }

  void notify() noexcept override {
    std::uint64_t one = 1;
    [[maybe_unused]] ssize_t w = ::write(event_fd_, &one, sizeof one);
  }

 private:
  io_uring_sqe* get_sqe() noexcept {
    io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
    if (sqe == nullptr) {
      io_uring_submit(&ring_);  // SQ full: flush and try again
      sqe = io_uring_get_sqe(&ring_);
    }
    return sqe;
  }

  void arm_wake_read() noexcept {
    io_uring_sqe* sqe = get_sqe();
    if (sqe == nullptr) return;  // retried on the next wait (wake_armed_ stays false)
    io_uring_prep_read(sqe, event_fd_, &event_buf_, sizeof event_buf_, 0);
    io_uring_sqe_set_data64(sqe, kWakeTag);
    wake_armed_ = true;
  }

  static void prep(IoOp* op, io_uring_sqe* sqe) noexcept {
    switch (op->opcode) {
      case IoOpcode::kNop:
        io_uring_prep_nop(sqe);
        break;
      case IoOpcode::kRead:
        io_uring_prep_read(sqe, op->fd, op->addr, op->len, op->off);
        break;
      case IoOpcode::kWrite:
        io_uring_prep_write(sqe, op->fd, op->addr, op->len, op->off);
        break;
      case IoOpcode::kReadv:
        io_uring_prep_readv(sqe, op->fd, static_cast<const iovec*>(op->addr), op->len, op->off);
        break;
      case IoOpcode::kWritev:
        io_uring_prep_writev(sqe, op->fd, static_cast<const iovec*>(op->addr), op->len, op->off);
        break;
      case IoOpcode::kFsync:
        io_uring_prep_fsync(sqe, op->fd, op->op_flags);
        break;
      case IoOpcode::kOpenat:
        io_uring_prep_openat(sqe, op->fd, static_cast<const char*>(op->addr),
                             static_cast<int>(op->op_flags), static_cast<mode_t>(op->off));
        break;
      case IoOpcode::kClose:
        io_uring_prep_close(sqe, op->fd);
        break;
      case IoOpcode::kStatx:
        io_uring_prep_statx(sqe, op->fd, static_cast<const char*>(op->addr),
                            static_cast<int>(op->op_flags), op->len,
                            static_cast<struct statx*>(op->addr2));
        break;
      case IoOpcode::kAccept:
        io_uring_prep_accept(sqe, op->fd, static_cast<sockaddr*>(op->addr),
                             static_cast<socklen_t*>(op->addr2), static_cast<int>(op->op_flags));
        break;
      case IoOpcode::kConnect:
        io_uring_prep_connect(sqe, op->fd, static_cast<const sockaddr*>(op->addr), op->len);
        break;
      case IoOpcode::kRecv:
        io_uring_prep_recv(sqe, op->fd, op->addr, op->len, static_cast<int>(op->op_flags));
        break;
      case IoOpcode::kSend:
        io_uring_prep_send(sqe, op->fd, op->addr, op->len, static_cast<int>(op->op_flags));
        break;
      case IoOpcode::kRecvmsg:
        io_uring_prep_recvmsg(sqe, op->fd, static_cast<msghdr*>(op->addr), op->op_flags);
        break;
      case IoOpcode::kSendmsg:
        io_uring_prep_sendmsg(sqe, op->fd, static_cast<const msghdr*>(op->addr), op->op_flags);
        break;
      case IoOpcode::kRecvMultishot:
        io_uring_prep_recv_multishot(sqe, op->fd, nullptr, 0, static_cast<int>(op->op_flags));
        sqe->flags |= IOSQE_BUFFER_SELECT;
        sqe->buf_group = static_cast<ProvidedBuffers*>(op->addr)->bgid;
        break;
      case IoOpcode::kAcceptMultishot:
        io_uring_prep_multishot_accept(sqe, op->fd, nullptr, nullptr,
                                       static_cast<int>(op->op_flags));
        break;
    }
  }

  // Registers a multishot op's buffer ring here (see provided_buffers.hpp). 0 or -errno.
  int register_buffers(IoOp* op) noexcept {
    auto* p = static_cast<ProvidedBuffers*>(op->addr);
    std::uint16_t bgid;
    if (!free_bgids_.empty()) {
      bgid = free_bgids_.back();
      free_bgids_.pop_back();
    } else if (next_bgid_ <= 0xffff) {
      bgid = static_cast<std::uint16_t>(next_bgid_++);
    } else {
      return -ENOSPC;  // 65536 receivers armed on this ring at once
    }
    std::lock_guard lock(p->mu);
    auto* br = static_cast<io_uring_buf_ring*>(p->ring);
    io_uring_buf_ring_init(br);
    io_uring_buf_reg reg{};
    reg.ring_addr = reinterpret_cast<std::uintptr_t>(br);
    reg.ring_entries = p->count;
    reg.bgid = bgid;
    int r = io_uring_register_buf_ring(&ring_, &reg, 0);
    if (r < 0) {
      free_bgids_.push_back(bgid);
      return r;
    }
    p->registered = true;
    p->bgid = bgid;
    provided_buffers_offer_all(p);
    op->bflags |= kPoolRegistered;
    return 0;
  }

  void unregister_buffers(IoOp* op) noexcept {
    op->bflags &= ~kPoolRegistered;
    auto* p = static_cast<ProvidedBuffers*>(op->addr);
    std::lock_guard lock(p->mu);
    io_uring_unregister_buf_ring(&ring_, p->bgid);
    p->registered = false;
    for (std::uint32_t i = 0; i < p->count; ++i) {
      if (p->where[i] == ProvidedBuffers::kKernel) {
        p->where[i] = ProvidedBuffers::kFree;
        ++p->free_count;
      }
    }
    free_bgids_.push_back(p->bgid);
  }

  // Issues the op's SQEs if the in-flight bound and the SQ allow; false leaves it for later.
  bool issue(IoOp* op) noexcept {
    bool timed = op->deadline_ns != 0;
    unsigned sqes = timed ? 2 : 1;
    if (in_kernel_ >= kMaxInFlight) return false;
    if (io_uring_sq_space_left(&ring_) < sqes) {
      io_uring_submit(&ring_);
      if (io_uring_sq_space_left(&ring_) < sqes) return false;
    }
    if (op->opcode == IoOpcode::kRecvMultishot) {
      if (int r = register_buffers(op); r < 0) {
        finish(op, r);
        return true;  // done, with the error
      }
    }
    io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
    prep(op, sqe);
    io_uring_sqe_set_data(sqe, op);
    if (timed) {
      sqe->flags |= IOSQE_IO_LINK;
      // The kernel copies the timespec when it consumes the SQE; the op outlives that.
      auto* ts = reinterpret_cast<__kernel_timespec*>(&op->bscratch);
      ts->tv_sec = op->deadline_ns / 1'000'000'000;
      ts->tv_nsec = op->deadline_ns % 1'000'000'000;
      io_uring_sqe* t = io_uring_get_sqe(&ring_);
      io_uring_prep_link_timeout(t, ts, IORING_TIMEOUT_ABS);
      io_uring_sqe_set_data64(t, reinterpret_cast<std::uintptr_t>(op) | kTimeoutBit);
    }
    op->bcount = sqes;
    op->bflags |= kInKernel;
    ++in_kernel_;
    return true;
  }

  void issue_cancel(IoOp* op) noexcept {
    io_uring_sqe* sqe = get_sqe();
    if (sqe == nullptr) {
      op->bflags |= kCancelDeferred;
      deferred_cancels_.push_back(op);
      return;
    }
    io_uring_prep_cancel64(sqe, reinterpret_cast<std::uintptr_t>(op), 0);
    io_uring_sqe_set_data64(sqe, kCancelTag);
    op->bflags |= kCancelIssued;
    // A worker ring's SQ must be empty when its lock is released (the canceller submits it).
    if (worker_) io_uring_submit(&ring_);
  }

  void retry_deferred_cancels() noexcept {
    if (deferred_cancels_.empty()) return;
    std::vector<IoOp*> ops;
    ops.swap(deferred_cancels_);
    for (IoOp* op : ops) {
      op->bflags &= ~kCancelDeferred;
      issue_cancel(op);
    }
  }

  void backlog_push(IoOp* op) noexcept {
    op->bflags |= kInBacklog;
    op->next = nullptr;
    op->prev = backlog_tail_;
    if (backlog_tail_ != nullptr) {
      backlog_tail_->next = op;
    } else {
      backlog_head_ = op;
    }
    backlog_tail_ = op;
  }

  void backlog_unlink(IoOp* op) noexcept {
    if (op->prev != nullptr) {
      op->prev->next = op->next;
    } else {
      backlog_head_ = op->next;
    }
    if (op->next != nullptr) {
      op->next->prev = op->prev;
    } else {
      backlog_tail_ = op->prev;
    }
    op->next = op->prev = nullptr;
    op->bflags &= ~kInBacklog;
  }

  void issue_backlog() noexcept {
    while (IoOp* op = backlog_head_) {
      backlog_unlink(op);
      if (op->cancel_requested.load(std::memory_order_relaxed) &&
          (op->options & kOpNoCancel) == 0) {
        finish(op, -ECANCELED);  // its cancel request is on the way: never issue it
        continue;
      }
      if (!issue(op)) {
        // Put it back at the front.
        op->bflags |= kInBacklog;
        op->prev = nullptr;
        op->next = backlog_head_;
        if (backlog_head_ != nullptr) {
          backlog_head_->prev = op;
        } else {
          backlog_tail_ = op;
        }
        backlog_head_ = op;
        return;
      }
    }
  }

  void finish(IoOp* op, int res) noexcept {
    op->bflags |= kDone;
    // relaxed: single writer (the thread that holds the backend); readers want a snapshot.
    in_flight_.store(in_flight_.load(std::memory_order_relaxed) - 1, std::memory_order_relaxed);
    if (worker_) {
      // Called after the WorkerRing's lock is released (take_done).
      op->bres = res;
      op->next = nullptr;
      if (done_tail_ != nullptr) {
        done_tail_->next = op;
      } else {
        done_head_ = op;
      }
      done_tail_ = op;
      return;
    }
    op->complete(op, res);  // drops the backend's reference: op may be gone
  }

  // One of the op's CQEs arrived.
  void on_op_cqe(IoOp* op) noexcept {
    if (--op->bcount != 0) return;
    std::uint32_t f = op->bflags;
    --in_kernel_;
    if ((f & kCancelDeferred) != 0) {
      deferred_cancels_.erase(std::find(deferred_cancels_.begin(), deferred_cancels_.end(), op));
    }
    int res = op->bres;
    if ((f & kPoolRegistered) != 0) {
      unregister_buffers(op);
      if (res > 0) res = 1;  // the kernel stopped it after data (reported through more)
    }
    if (op->opcode == IoOpcode::kAcceptMultishot && res >= 0) res = 1;  // fd went to more
    if ((f & kStopped) != 0 && (res == -ECANCELED || res == -EINTR)) res = 1;
    if ((f & kTimedOut) != 0 && (res == -ECANCELED || res == -EINTR)) {
      res = -ETIME;
    } else if (res == -EINTR && op->cancel_requested.load(std::memory_order_relaxed)) {
      res = -ECANCELED;  // a cancelled io-wq worker is interrupted by a signal
    }
    finish(op, res);
  }

  void dispatch() noexcept {
    unsigned head;
    unsigned seen = 0;
    io_uring_cqe* cqe;
    io_uring_for_each_cqe(&ring_, head, cqe) {
      ++seen;
      std::uint64_t ud = io_uring_cqe_get_data64(cqe);
      int res = cqe->res;
      if (ud == kWakeTag) {
        wake_armed_ = false;
      } else if (ud == kCancelTag || ud == kCancelAllTag) {
        // a cancel request's own result: nothing to do (its target completes separately)
      } else if ((ud & kTimeoutBit) != 0) {
        auto* op = reinterpret_cast<IoOp*>(static_cast<std::uintptr_t>(ud & ~kTimeoutBit));
        if (res == -ETIME) op->bflags |= kTimedOut;
        on_op_cqe(op);
      } else {
        auto* op = reinterpret_cast<IoOp*>(static_cast<std::uintptr_t>(ud));
        bool go_on = true;
        if ((cqe->flags & IORING_CQE_F_BUFFER) != 0) {
          go_on = op->more(op, res > 0 ? res : 0, cqe->flags >> IORING_CQE_BUFFER_SHIFT);
        } else if (op->opcode == IoOpcode::kAcceptMultishot &&
                   (res >= 0 || (cqe->flags & IORING_CQE_F_MORE) != 0)) {
          go_on = op->more(op, res, 0);  // a connection (or a per-connection error)
        }
        if ((cqe->flags & IORING_CQE_F_MORE) != 0) {  // a multishot op goes on
          if (!go_on) stop(op);  // in the kernel, not done: stopped unless a cancel is on its way
          continue;
        }
        op->bres = res;
        on_op_cqe(op);
      }
    }
    io_uring_cq_advance(&ring_, seen);
    // relaxed: the kernel's counter; any non-zero value means a CQE was dropped.
    if (__atomic_load_n(ring_.cq.koverflow, __ATOMIC_RELAXED) != 0) {
      std::fputs(
          "executor: the kernel dropped io_uring completions (CQ overflow allocation "
          "failed); stopping rather than hanging\n",
          stderr);
      std::abort();
    }
  }

  const bool worker_;
  io_uring ring_{};
  bool ring_ready_ = false;
  bool disabled_ = false;
  int event_fd_ = -1;
  std::uint64_t event_buf_ = 0;
  bool wake_armed_ = false;
  std::atomic<std::size_t> in_flight_{0};  // accepted by submit(), not completed
  IoOp* done_head_ = nullptr;              // worker ring: completions to call
  IoOp* done_tail_ = nullptr;
  std::size_t in_kernel_ = 0;  // issued to the kernel, not completed
  IoOp* backlog_head_ = nullptr;
  IoOp* backlog_tail_ = nullptr;
  std::vector<IoOp*> deferred_cancels_;
  std::vector<std::uint16_t> free_bgids_;  // buffer group ids given back
  std::uint32_t next_bgid_ = 0;            // ids below it have been handed out
};

// See worker_ring.hpp.
class UringWorkerRing final : public WorkerRing {
 public:
  UringWorkerRing() : b_(/*worker=*/true) {}

  int setup(unsigned entries, int notify_fd) { return b_.setup(entries, notify_fd); }

  void submit(IoOp* op) noexcept override {
    op->next = nullptr;
    if (pending_tail_ != nullptr) {
      pending_tail_->next = op;
    } else {
      pending_head_ = op;
    }
    pending_tail_ = op;
  }

  void flush() noexcept override {
    // relaxed: a hint for rescue() (single writer); a stale value delays a rescue by one look.
    flushes_.store(flushes_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    if (pending_head_ == nullptr && !b_.has_events() && !b_.taskrun_pending()) return;
    IoOp* done;
    {
      std::lock_guard lock(mu_);
      take_pending();
      b_.flush_ring(/*owner=*/true);
      done = b_.take_done();
    }
    deliver(done);
  }

  bool prepare_park() noexcept override {
    IoOp* done;
    {
      std::lock_guard lock(mu_);
      take_pending();
      b_.flush_ring(/*owner=*/true);
      // seq_cst: see resume().
      parked_.store(true, std::memory_order_seq_cst);
      b_.set_notify(true);
      b_.flush_ring(/*owner=*/true);  // CQEs posted before the flag was visible
      done = b_.take_done();
    }
    if (done == nullptr) return false;
    resume();
    deliver(done);
    return true;
  }

  bool resume() noexcept override {
    std::lock_guard lock(mu_);
    b_.set_notify(false);
    // seq_cst: pairs with the completion thread's long_sleep_ store and its load of this flag
    // (Dekker, see Reactor::worker_resume).
    parked_.store(false, std::memory_order_seq_cst);
    return b_.in_flight() != 0;
  }

  void owner_exit() noexcept override {
    IoOp* ops = pending_head_;
    pending_head_ = pending_tail_ = nullptr;
    while (ops != nullptr) {
      IoOp* next = ops->next;
      int res = (ops->options & kOpNoCancel) != 0 ? run_blocking(ops) : -ECANCELED;
      ops->complete(ops, res);
      ops = next;
    }
    std::lock_guard lock(mu_);
    parked_.store(true, std::memory_order_seq_cst);
    b_.set_notify(true);  // the completion thread reaps from now on
  }

  void cancel(IoOp* op) noexcept override {
    // An op still on the owner's pending list has bflags == 0: the ASYNC_CANCEL finds nothing,
    // and the owner's flush sees cancel_requested (set before this call) and completes it.
    locked_then_deliver([&] { b_.cancel(op); });
  }

  void stop(IoOp* op) noexcept override {
    locked_then_deliver([&] { b_.stop(op); });
  }

  std::size_t reap() noexcept override {
    if (!b_.has_events()) return 0;
    IoOp* done;
    {
      std::lock_guard lock(mu_);
      b_.flush_ring();
      done = b_.take_done();
    }
    return deliver(done);
  }

  std::size_t rescue() noexcept override {
    // relaxed: see flush().
    std::uint32_t f = flushes_.load(std::memory_order_relaxed);
    bool owner_flushed = f != flushes_seen_;
    flushes_seen_ = f;
    if (owner_flushed) return 0;
    return try_reap();
  }

  std::size_t try_reap() noexcept override {
    if (!b_.has_events()) return 0;
    IoOp* done;
    {
      std::unique_lock lock(mu_, std::try_to_lock);
      if (!lock.owns_lock()) return 0;  // its owner (or the completion thread) is reaping it
      b_.flush_ring();
      done = b_.take_done();
    }
    return deliver(done);
  }

  void cancel_all() noexcept override {
    locked_then_deliver([&] { b_.cancel_all(); });
  }

  std::size_t in_flight() const noexcept override { return b_.in_flight(); }
  bool parked() const noexcept override { return parked_.load(std::memory_order_seq_cst); }

 private:
  // Another thread's call on the ring: `f` under the lock, then the completions it collected
  // (callbacks run unlocked: see worker_ring.hpp).
  template <class F>
  void locked_then_deliver(F f) noexcept {
    IoOp* done;
    {
      std::lock_guard lock(mu_);
      f();
      done = b_.take_done();
    }
    deliver(done);
  }

  // Under mu_: hands the owner's pending ops to the backend (they start at the flush).
  void take_pending() noexcept {
    IoOp* op = pending_head_;
    pending_head_ = pending_tail_ = nullptr;
    while (op != nullptr) {
      IoOp* next = op->next;
      b_.submit(op);
      op = next;
    }
  }

  static std::size_t deliver(IoOp* op) noexcept {
    std::size_t n = 0;
    while (op != nullptr) {
      IoOp* next = op->next;
      op->complete(op, op->bres);  // drops the backend's reference: op may be gone
      op = next;
      ++n;
    }
    return n;
  }

  std::mutex mu_;
  UringBackend b_;  // under mu_
  // Owner only.
  IoOp* pending_head_ = nullptr;
  IoOp* pending_tail_ = nullptr;
  std::atomic<bool> parked_{true};
  // Owner flushes so far (written by the owner only) and the count the completion thread saw at
  // its previous look (rescue()).
  std::atomic<std::uint32_t> flushes_{0};
  std::uint32_t flushes_seen_ = 0;
};

}  // namespace

std::unique_ptr<WorkerRing> make_worker_ring(unsigned entries, int notify_fd, int& err) {
  auto r = std::make_unique<UringWorkerRing>();
  err = r->setup(entries, notify_fd);
  if (err != 0) return nullptr;
  return r;
}

std::unique_ptr<Backend> make_uring_backend(unsigned entries, int& err, std::string& why) {
  auto b = std::make_unique<UringBackend>();
  err = b->setup(entries);
  if (err != 0) {
    why = explain_setup_error(err);
    return nullptr;
  }
  return b;
}

}  // namespace executor::detail
