// The epoll fallback backend: used when io_uring is unavailable (or EXECUTOR_BACKEND=epoll).
// Same ops, same results, same cancellation and timeout semantics as the io_uring backend.
//
// Design
// ------
// Socket ops (accept, connect, recv, send, recvmsg, sendmsg), and reads/writes at the current
// position (File::read/write on pipes, FIFOs, eventfds: tried with RWF_NOWAIT, on the pool when
// the fd does not support it or cannot be polled), run on the completion thread by readiness: the
// op's syscall is tried at once (non-blocking); on EAGAIN the op joins its fd's FIFO of readers or
// writers and the fd is armed in epoll (EPOLLONESHOT, re-armed with EPOLL_CTL_MOD while waiters
// remain; ENOENT/EEXIST switch between MOD and ADD, so an fd number that was closed and reused
// re-registers itself). An event retries the FIFO's ops in order until one would block again. A
// second op on the same fd and direction queues behind the first rather than overtaking it.
//
// File ops and close run on the process-wide blocking pool (spawn_blocking's) as PoolJobs. A
// job holds a reference on its op; `claim` decides, once, between the pool thread that starts
// it (1) and a cancel/deadline that takes it back before it started (2). A pool thread that ran
// the op stores the result in the job, pushes the job onto `done_` (a Treiber stack) and wakes
// the completion thread, which completes the op. So every completion, as with io_uring,
// happens on the completion thread. A Reactor destroyed with jobs still running (their
// syscalls cannot be interrupted) orphans the backend and leaks it: a job that finishes later
// sees `orphaned_` and returns without touching the host (reporting_/orphaned_ are a Dekker
// pair, so orphan() waits for any job already past the check).
//
// Deadlines: a std::set ordered by (deadline, op) bounds epoll_pwait2's timeout; an expired op
// that is still waiting (or still queued in the pool) completes with -ETIME. An op a pool
// thread already runs cannot be interrupted and completes with its real result, like an
// io_uring op whose linked timeout lost the race.
//
// Multishot receive (kRecvMultishot) is a readiness loop: the op stays in its fd's reader FIFO;
// each time the fd is readable it receives into free buffers of its pool (provided_buffers.hpp),
// reporting every chunk through op->more, until the socket would block (it stays armed), at most
// 64 chunks per event (level-triggered epoll reports the rest), or it ends: 0 at end of stream,
// -ENOBUFS when data is waiting and no buffer is free (as io_uring does), -errno on error. A
// plain receive on the same fd queues behind it, so do not mix them (the public API says so).
//
// Per-op state (IoOp::bflags, bscratch[0] = its PoolJob), completion thread only:
//
//   submit ──try──> done                       (result other than EAGAIN)
//      ├──EAGAIN──> waiting (kWaitRead|kWaitWrite) ──ready/cancel/deadline──> done
//      └──file op─> in pool (kInPool) ──result via done_ / try_remove on cancel──> done
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <memory>
#include <new>
#include <set>
#include <system_error>
#include <thread>
#include <unordered_map>
#include <utility>

#include <executor/spawn_blocking.hpp>

#include "backend.hpp"
#include "monotonic_ns.hpp"
#include "provided_buffers.hpp"

namespace executor::detail {

namespace {

constexpr std::uint32_t kWaitRead = 1u << 0;
constexpr std::uint32_t kWaitWrite = 1u << 1;
constexpr std::uint32_t kInPool = 1u << 2;
constexpr std::uint32_t kConnecting = 1u << 3;
constexpr std::uint32_t kHasDeadline = 1u << 4;
constexpr std::uint32_t kDone = 1u << 5;

bool is_socket_op(IoOpcode c) noexcept {
  switch (c) {
    case IoOpcode::kAccept:
    case IoOpcode::kConnect:
    case IoOpcode::kRecv:
    case IoOpcode::kSend:
    case IoOpcode::kRecvmsg:
    case IoOpcode::kSendmsg:
    case IoOpcode::kRecvMultishot:
    case IoOpcode::kAcceptMultishot:
      return true;
    default:
      return false;
  }
}

// A read or write at the current position (File::read/write: pipes, FIFOs, eventfds, ...):
// tried with RWF_NOWAIT and waited for by readiness where the kernel supports both for the fd,
// on the pool otherwise (regular files, ttys).
bool is_stream_op(const IoOp* op) noexcept {
  switch (op->opcode) {
    case IoOpcode::kRead:
    case IoOpcode::kWrite:
    case IoOpcode::kReadv:
    case IoOpcode::kWritev:
      return op->off == static_cast<std::uint64_t>(-1);
    default:
      return false;
  }
}

bool reads(IoOpcode c) noexcept {
  return c == IoOpcode::kAccept || c == IoOpcode::kRecv || c == IoOpcode::kRecvmsg ||
         c == IoOpcode::kRecvMultishot || c == IoOpcode::kAcceptMultishot || c == IoOpcode::kRead ||
         c == IoOpcode::kReadv;
}

struct WaitList {
  IoOp* head = nullptr;
  IoOp* tail = nullptr;
  bool empty() const noexcept { return head == nullptr; }
  void push(IoOp* op) noexcept {
    op->next = nullptr;
    op->prev = tail;
    if (tail != nullptr) {
      tail->next = op;
    } else {
      head = op;
    }
    tail = op;
  }
  void unlink(IoOp* op) noexcept {
    if (op->prev != nullptr) {
      op->prev->next = op->next;
    } else {
      head = op->next;
    }
    if (op->next != nullptr) {
      op->next->prev = op->prev;
    } else {
      tail = op->prev;
    }
    op->next = op->prev = nullptr;
  }
};

struct FdWaiters {
  WaitList readers;
  WaitList writers;
};

class EpollBackend;

// A file op's trip through the blocking pool.
struct PoolJob : BlockingJob {
  IoOp* op = nullptr;
  EpollBackend* backend = nullptr;
  // 0: queued; 1: a pool thread took it; 2: the completion thread took it back (cancelled).
  // acq_rel CAS by both sides: exactly one wins.
  std::atomic<int> claim{0};
  int res = 0;                   // written by the pool thread before it publishes the job
  PoolJob* done_next = nullptr;  // done_ stack link
};

class EpollBackend final : public Backend {
 public:
  explicit EpollBackend(BackendHost& host) : host_(host) {
    epfd_ = ::epoll_create1(EPOLL_CLOEXEC);
    if (epfd_ < 0) throw std::system_error(errno, std::generic_category(), "executor: epoll");
    event_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (event_fd_ < 0) {
      int err = errno;
      ::close(epfd_);
      throw std::system_error(err, std::generic_category(), "executor: eventfd");
    }
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = event_fd_;
    if (::epoll_ctl(epfd_, EPOLL_CTL_ADD, event_fd_, &ev) < 0) {
      int err = errno;
      ::close(event_fd_);
      ::close(epfd_);
      throw std::system_error(err, std::generic_category(), "executor: epoll_ctl");
    }
  }

  ~EpollBackend() override {
    ::close(event_fd_);
    ::close(epfd_);
  }

  const char* name() const noexcept override { return "epoll"; }
  int attach_thread() noexcept override { return 0; }

  void submit(IoOp* op) noexcept override {
    ++in_flight_;
    op->bflags = 0;
    op->bres = 0;
    if (op->cancel_requested.load(std::memory_order_relaxed) && (op->options & kOpNoCancel) == 0) {
      finish(op, -ECANCELED);  // cancelled before it reached us: never start it
      return;
    }
    if (op->deadline_ns != 0) {
      op->bflags |= kHasDeadline;
      deadlines_.emplace(op->deadline_ns, op);
    }
    if (is_socket_op(op->opcode) || is_stream_op(op)) {
      start_socket_op(op);
    } else if (op->opcode == IoOpcode::kNop) {
      finish(op, 0);
    } else {
      to_pool(op);
    }
  }

  void cancel(IoOp* op) noexcept override {
    if ((op->bflags & kDone) != 0 || (op->options & kOpNoCancel) != 0) return;
    abort_op(op, -ECANCELED);
  }

  void cancel_all() noexcept override {
    for (auto& [fd, w] : fds_) {
      while (IoOp* op = w.readers.head) {
        w.readers.unlink(op);
        finish(op, -ECANCELED);
      }
      while (IoOp* op = w.writers.head) {
        w.writers.unlink(op);
        finish(op, -ECANCELED);
      }
    }
    fds_.clear();
    for (IoOp* op = pool_ops_.head; op != nullptr;) {
      IoOp* next = op->next;
      if ((op->options & kOpNoCancel) == 0) abort_op(op, -ECANCELED);
      op = next;
    }
  }

  std::size_t wait(const TimePoint* deadline) noexcept override {
    std::size_t before = in_flight_;
    std::int64_t limit = -1;  // ns from now; -1 = forever
    std::int64_t now = monotonic_ns();
    if (deadline != nullptr) {
      TimePoint t(std::chrono::nanoseconds{now});
      // Compare first: a past deadline may be time_point::min(), whose difference overflows.
      limit = *deadline <= t
                  ? 0
                  : std::chrono::duration_cast<std::chrono::nanoseconds>(*deadline - t).count();
    }
    if (!deadlines_.empty()) {
      std::int64_t d = std::max<std::int64_t>(0, deadlines_.begin()->first - now);
      limit = limit < 0 ? d : std::min(limit, d);
    }
    if (has_ready()) limit = 0;
    timespec ts{};
    timespec* tsp = nullptr;
    if (limit >= 0) {
      ts.tv_sec = limit / 1'000'000'000;
      ts.tv_nsec = limit % 1'000'000'000;
      tsp = &ts;
    }
    epoll_event events[128];
    int n = -1;
    if (have_pwait2_) {
      n = ::epoll_pwait2(epfd_, events, 128, tsp, nullptr);
      if (n < 0 && (errno == ENOSYS || errno == EPERM)) have_pwait2_ = false;  // old kernel/filter
    }
    if (!have_pwait2_) {
      int ms =
          limit < 0
              ? -1
              : static_cast<int>(std::min<std::int64_t>((limit + 999'999) / 1'000'000, 1 << 30));
      n = ::epoll_wait(epfd_, events, 128, ms);
    }
    for (int i = 0; i < n; ++i) {
      int fd = events[i].data.fd;
      if (fd == event_fd_) {
        std::uint64_t v;
        [[maybe_unused]] ssize_t r = ::read(event_fd_, &v, sizeof v);
        continue;
      }
      on_ready(fd, events[i].events);
    }
    drain_pool_results();
    expire_deadlines();
    return before - in_flight_;
  }

  std::size_t in_flight() const noexcept override { return in_flight_; }

  void notify() noexcept override {
    std::uint64_t one = 1;
    [[maybe_unused]] ssize_t w = ::write(event_fd_, &one, sizeof one);
  }

  bool has_ready() const noexcept override {
    // relaxed: only a hint; drain_pool_results' exchange acquires.
    return done_.load(std::memory_order_relaxed) != nullptr;
  }

 private:
  void to_pool(IoOp* op) noexcept {
    auto* job = new (std::nothrow) PoolJob;
    if (job == nullptr) {
      finish(op, -ENOMEM);
      return;
    }
    job->run = &EpollBackend::run_job;
    job->op = op;
    job->backend = this;
    io_op_ref(op);  // the job's reference
    op->bscratch[0] = reinterpret_cast<std::intptr_t>(job);
    op->bflags |= kInPool;
    pool_ops_.push(op);
    try {
      submit_blocking(job);
    } catch (...) {
      // No pool thread at all: run it here rather than never.
      pool_ops_.unlink(op);
      op->bflags &= ~kInPool;
      io_op_unref(op);
      delete job;
      finish(op, run_blocking(op));
    }
  }

  static PoolJob* job_of(IoOp* op) noexcept { return reinterpret_cast<PoolJob*>(op->bscratch[0]); }

  // On a pool thread.
  static void run_job(BlockingJob* b) noexcept {
    auto* job = static_cast<PoolJob*>(b);
    int expected = 0;
    if (!job->claim.compare_exchange_strong(expected, 1, std::memory_order_acq_rel)) {
      io_op_unref(job->op);  // taken back (cancelled): the op completed already
      delete job;
      return;
    }
    job->res = run_blocking(job->op);
    EpollBackend* self = job->backend;
    // Counted before the result is published, so the backend (and its host) outlive our last
    // access below even though the op may complete, and the runtime stop, right after the push.
    // release/acquire: pairs with quiesce().
    // seq_cst: with the load of orphaned_ below, one side of a Dekker pair with orphan(): either
    // orphan() sees this job reporting and waits for it, or this job sees orphaned_ set.
    self->reporting_.fetch_add(1, std::memory_order_seq_cst);
    if (self->orphaned_.load(std::memory_order_seq_cst)) {
      // The host is gone (its runtime was destroyed with this op in flight): the op and this
      // backend stay allocated, nothing else is touched.
      self->reporting_.fetch_sub(1, std::memory_order_release);
      return;
    }
    PoolJob* head = self->done_.load(std::memory_order_relaxed);
    do {
      job->done_next = head;
      // release: publishes res (and what the syscall wrote) to the acquire in
      // drain_pool_results; seq_cst orders it before the host's sleeping_ check (Dekker).
    } while (!self->done_.compare_exchange_weak(head, job, std::memory_order_seq_cst,
                                                std::memory_order_relaxed));
    self->host_.backend_wake();
    self->reporting_.fetch_sub(1, std::memory_order_release);
  }

  void quiesce() noexcept override {
    // acquire: pairs with the release decrement in run_job (its last access to this object).
    while (reporting_.load(std::memory_order_acquire) != 0) std::this_thread::yield();
  }

  void orphan() noexcept override {
    // seq_cst: the other side of run_job's Dekker pair (reporting_ then orphaned_).
    orphaned_.store(true, std::memory_order_seq_cst);
    quiesce();
  }

  void drain_pool_results() noexcept {
    if (done_.load(std::memory_order_relaxed) == nullptr) return;
    // acquire: pairs with the release in run_job.
    PoolJob* job = done_.exchange(nullptr, std::memory_order_acquire);
    while (job != nullptr) {
      PoolJob* next = job->done_next;
      IoOp* op = job->op;
      int res = job->res;
      delete job;
      pool_ops_.unlink(op);
      op->bflags &= ~kInPool;
      io_op_unref(op);  // the job's reference (the backend's keeps it alive)
      finish(op, res);
      job = next;
    }
  }

  // A multishot receive's readiness loop (see the design notes): its final result, or -EAGAIN
  // while it goes on.
  static int attempt_multishot(IoOp* op) noexcept {
    auto* p = static_cast<ProvidedBuffers*>(op->addr);
    for (int chunks = 0; chunks < 64;) {
      int id;
      {
        std::lock_guard lock(p->mu);
        id = p->take_free();
      }
      if (id < 0) {
        char c;
        long r = ::recv(op->fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
        if (r > 0) return -ENOBUFS;
        if (r == 0) return 0;
        if (errno == EINTR) continue;
        return errno == EWOULDBLOCK ? -EAGAIN : -errno;
      }
      long r = ::recv(op->fd, p->data(static_cast<std::uint32_t>(id)), p->size,
                      static_cast<int>(op->op_flags) | MSG_DONTWAIT);
      int err = r < 0 ? errno : 0;
      bool go_on = op->more(op, r > 0 ? static_cast<int>(r) : 0, static_cast<std::uint32_t>(id));
      if (r > 0) {
        if (!go_on) return 1;  // stopped by the receiver
        ++chunks;
        continue;
      }
      if (r == 0) return 0;
      if (err == EINTR) continue;
      return err == EWOULDBLOCK ? -EAGAIN : -err;
    }
    return -EAGAIN;
  }

  // A multishot accept: every connection through op->more until the listener would block (at
  // most 64 per event), `more` asks to stop (1), or accept4 fails with an error that ends it.
  static int attempt_accept_multishot(IoOp* op) noexcept {
    for (int n = 0; n < 64;) {
      int fd = ::accept4(op->fd, nullptr, nullptr, static_cast<int>(op->op_flags));
      if (fd < 0) {
        int err = errno;
        if (err == EINTR) continue;
        if (err == EWOULDBLOCK) return -EAGAIN;
        // Errors of one connection (it was reset while queued) do not end the accepting.
        if (err == ECONNABORTED || err == EPROTO) continue;
        return -err;
      }
      ++n;
      if (!op->more(op, fd, 0)) return 1;
    }
    return -EAGAIN;
  }

  // Runs the op's syscall without blocking: the result, or -EAGAIN.
  static int attempt(IoOp* op) noexcept {
    if (op->opcode == IoOpcode::kRecvMultishot) return attempt_multishot(op);
    if (op->opcode == IoOpcode::kAcceptMultishot) return attempt_accept_multishot(op);
    for (;;) {
      long r;
      switch (op->opcode) {
        case IoOpcode::kAccept:
          r = ::accept4(op->fd, static_cast<sockaddr*>(op->addr),
                        static_cast<socklen_t*>(op->addr2), static_cast<int>(op->op_flags));
          break;
        case IoOpcode::kConnect:
          if ((op->bflags & kConnecting) == 0) {
            r = ::connect(op->fd, static_cast<const sockaddr*>(op->addr), op->len);
            if (r < 0 && errno == EINPROGRESS) {
              op->bflags |= kConnecting;
              return -EAGAIN;
            }
          } else {
            int err = 0;
            socklen_t len = sizeof err;
            if (::getsockopt(op->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) return -errno;
            if (err != 0) return -err;
            sockaddr_storage peer;
            socklen_t plen = sizeof peer;
            if (::getpeername(op->fd, reinterpret_cast<sockaddr*>(&peer), &plen) < 0) {
              return errno == ENOTCONN ? -EAGAIN : -errno;
            }
            return 0;
          }
          break;
        case IoOpcode::kRecv:
          r = ::recv(op->fd, op->addr, op->len, static_cast<int>(op->op_flags) | MSG_DONTWAIT);
          break;
        case IoOpcode::kSend:
          r = ::send(op->fd, op->addr, op->len,
                     static_cast<int>(op->op_flags) | MSG_DONTWAIT | MSG_NOSIGNAL);
          break;
        case IoOpcode::kRecvmsg:
          r = ::recvmsg(op->fd, static_cast<msghdr*>(op->addr),
                        static_cast<int>(op->op_flags) | MSG_DONTWAIT);
          break;
        case IoOpcode::kSendmsg:
          r = ::sendmsg(op->fd, static_cast<const msghdr*>(op->addr),
                        static_cast<int>(op->op_flags) | MSG_DONTWAIT | MSG_NOSIGNAL);
          break;
        // Stream ops (is_stream_op): EOPNOTSUPP when the fd does not support RWF_NOWAIT.
        case IoOpcode::kRead:
        case IoOpcode::kWrite: {
          iovec v{op->addr, op->len};
          r = op->opcode == IoOpcode::kRead ? ::preadv2(op->fd, &v, 1, -1, RWF_NOWAIT)
                                            : ::pwritev2(op->fd, &v, 1, -1, RWF_NOWAIT);
          break;
        }
        case IoOpcode::kReadv:
          r = ::preadv2(op->fd, static_cast<const iovec*>(op->addr), static_cast<int>(op->len), -1,
                        RWF_NOWAIT);
          break;
        case IoOpcode::kWritev:
          r = ::pwritev2(op->fd, static_cast<const iovec*>(op->addr), static_cast<int>(op->len), -1,
                         RWF_NOWAIT);
          break;
        default:
          return -EOPNOTSUPP;
      }
      if (r >= 0) return static_cast<int>(r);
      if (errno == EINTR) continue;
      return errno == EWOULDBLOCK ? -EAGAIN : -errno;
    }
  }

  void start_socket_op(IoOp* op) noexcept {
    bool rd = reads(op->opcode);
    auto it = fds_.find(op->fd);
    if (it != fds_.end()) {
      WaitList& list = rd ? it->second.readers : it->second.writers;
      if (!list.empty()) {  // queue behind earlier ops in the same direction (FIFO)
        op->bflags |= rd ? kWaitRead : kWaitWrite;
        list.push(op);
        return;
      }
    }
    int res = attempt(op);
    bool stream = is_stream_op(op);
    if (stream && res == -EOPNOTSUPP) {  // no RWF_NOWAIT for this fd: a blocking read/write
      to_pool(op);
      return;
    }
    if (res != -EAGAIN) {
      finish(op, res);
      return;
    }
    auto [pos, fresh] = fds_.try_emplace(op->fd);
    FdWaiters& w = pos->second;
    op->bflags |= rd ? kWaitRead : kWaitWrite;
    WaitList& list = rd ? w.readers : w.writers;
    list.push(op);
    int err = try_arm(op->fd, w);
    if (err == 0) return;
    if (stream && fresh && err == EPERM) {
      // Not pollable (a regular file whose data is not cached): read it on the pool.
      list.unlink(op);
      fds_.erase(pos);
      op->bflags &= ~(kWaitRead | kWaitWrite);
      to_pool(op);
      return;
    }
    fail_all(op->fd, w, -err);
  }

  // (Re-)arms the fd's one-shot registration for the directions that have waiters: 0 or errno.
  int try_arm(int fd, FdWaiters& w) noexcept {
    epoll_event ev{};
    ev.events = EPOLLONESHOT | EPOLLRDHUP;
    if (!w.readers.empty()) ev.events |= EPOLLIN;
    if (!w.writers.empty()) ev.events |= EPOLLOUT;
    ev.data.fd = fd;
    if (::epoll_ctl(epfd_, EPOLL_CTL_MOD, fd, &ev) == 0) return 0;
    if (errno == ENOENT && ::epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev) == 0) return 0;
    return errno;
  }

  void arm(int fd, FdWaiters& w) noexcept {
    // Not pollable (or out of memory): fail the waiters rather than leave them hanging.
    if (int err = try_arm(fd, w); err != 0) fail_all(fd, w, -err);
  }

  void fail_all(int fd, FdWaiters& w, int res) noexcept {
    while (IoOp* op = w.readers.head) {
      w.readers.unlink(op);
      finish(op, res);
    }
    while (IoOp* op = w.writers.head) {
      w.writers.unlink(op);
      finish(op, res);
    }
    fds_.erase(fd);
  }

  void run_list(WaitList& list) noexcept {
    while (IoOp* op = list.head) {
      // A cancel request on its way (the awaiter is gone, or a token fired) must not let the op
      // consume data that a later op should get.
      int res =
          op->cancel_requested.load(std::memory_order_relaxed) && (op->options & kOpNoCancel) == 0
              ? -ECANCELED
              : attempt(op);
      if (res == -EAGAIN) return;
      list.unlink(op);
      finish(op, res);
    }
  }

  void on_ready(int fd, std::uint32_t events) noexcept {
    auto it = fds_.find(fd);
    if (it == fds_.end()) return;  // every waiter left (cancelled) meanwhile
    FdWaiters& w = it->second;
    if ((events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0) run_list(w.readers);
    if ((events & (EPOLLOUT | EPOLLHUP | EPOLLERR)) != 0) run_list(w.writers);
    if (w.readers.empty() && w.writers.empty()) {
      fds_.erase(it);
    } else {
      arm(fd, w);
    }
  }

  // Completes an op that has not finished yet with `res` if it can still be stopped.
  void abort_op(IoOp* op, int res) noexcept {
    std::uint32_t f = op->bflags;
    if ((f & (kWaitRead | kWaitWrite)) != 0) {
      auto it = fds_.find(op->fd);
      FdWaiters& w = it->second;
      ((f & kWaitRead) != 0 ? w.readers : w.writers).unlink(op);
      if (w.readers.empty() && w.writers.empty()) fds_.erase(it);
      finish(op, res);
    } else if ((f & kInPool) != 0) {
      int expected = 0;
      if (job_of(op)->claim.compare_exchange_strong(expected, 2, std::memory_order_acq_rel)) {
        pool_ops_.unlink(op);  // the job frees itself (and drops its reference) when it runs
        op->bflags &= ~kInPool;
        finish(op, res);
      }
    }
  }

  void expire_deadlines() noexcept {
    if (deadlines_.empty()) return;
    std::int64_t now = monotonic_ns();
    while (!deadlines_.empty() && deadlines_.begin()->first <= now) {
      IoOp* op = deadlines_.begin()->second;
      deadlines_.erase(deadlines_.begin());
      op->bflags &= ~kHasDeadline;
      abort_op(op, -ETIME);
    }
  }

  void finish(IoOp* op, int res) noexcept {
    if ((op->bflags & kHasDeadline) != 0) deadlines_.erase({op->deadline_ns, op});
    op->bflags = kDone;
    --in_flight_;
    op->complete(op, res);  // drops the backend's reference: op may be gone
  }

  BackendHost& host_;
  int epfd_ = -1;
  int event_fd_ = -1;
  std::size_t in_flight_ = 0;
  bool have_pwait2_ = true;
  std::unordered_map<int, FdWaiters> fds_;
  std::set<std::pair<std::int64_t, IoOp*>> deadlines_;
  WaitList pool_ops_;  // ops handed to the pool and not yet completed
  alignas(64) std::atomic<PoolJob*> done_{nullptr};
  std::atomic<unsigned> reporting_{0};  // pool threads between publishing and their last access
  std::atomic<bool> orphaned_{false};   // set by orphan(): host_ must not be touched any more
};

}  // namespace

std::unique_ptr<Backend> make_epoll_backend(BackendHost& host) {
  return std::make_unique<EpollBackend>(host);
}

}  // namespace executor::detail
