// SIGINT/SIGTERM -> the process-wide shutdown token (see include/executor/signals.hpp).
//
// Design
// ------
// States of the process (g_received): 0 = running; a signal number = shutting down.
//
//   on_signal (handler, async-signal-safe only):
//       0 -> sig: write(eventfd)              (first signal: wake the watcher)
//       sig -> (any): _exit(128 + new sig)    (second signal: stop at once)
//   watch (the watcher thread): read(eventfd) returns -> publish the signal number in
//       g_reported, then cancel the shared root token (callbacks run on this thread); the
//       thread then goes back to read(2), so it can still take the second signal.
//
// Set-up (install, under g_setup_mu, once per process): eventfd, the root token, the watcher
// thread, then sigaction. The handler reads g_event_fd and g_owner_pid, written before sigaction
// installs it (the syscall orders them for a handler in any thread). Nothing is ever torn down:
// the state is reachable from a static for the life of the process, and the thread stays blocked
// in read(2) until a signal (or process exit).
#include <executor/signals.hpp>

#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <string>
#include <system_error>
#include <thread>

namespace executor::signals {

namespace {

static_assert(std::atomic<int>::is_always_lock_free, "the signal handler needs lock-free atomics");

// --- read by the handler (lock-free atomics only; relaxed: written before sigaction) ---
std::atomic<int> g_received{0};     // first signal delivered, 0 until then
std::atomic<int> g_event_fd{-1};    // the watcher's eventfd
std::atomic<pid_t> g_owner_pid{0};  // the process that set up the watcher thread
// --- written by the watcher thread before it cancels; read by shutdown_signal() ---
std::atomic<int> g_reported{0};

struct Setup {
  CancellationToken root;
};
std::mutex g_setup_mu;
Setup* g_setup = nullptr;  // guarded by g_setup_mu; never freed (reachable for leak checkers)
bool g_handlers_installed = false;  // guarded by g_setup_mu

extern "C" void on_signal(int sig) {
  const int saved_errno = errno;
  if (::getpid() != g_owner_pid.load(std::memory_order_relaxed)) {
    // A child forked without exec: it has our handler but not the watcher thread, and its
    // eventfd is shared with the parent. Behave as if we were never installed.
    ::signal(sig, SIG_DFL);
    sigset_t only;
    sigemptyset(&only);
    sigaddset(&only, sig);
    ::pthread_sigmask(SIG_UNBLOCK, &only, nullptr);  // we are inside its handler: let it through
    ::raise(sig);
    ::_exit(128 + sig);  // only if the default action did not end us (sanitizer runtimes)
  }
  int expected = 0;
  // relaxed: the eventfd write/read pair orders the watcher's view; a second signal only needs
  // to see that a first one happened.
  if (!g_received.compare_exchange_strong(expected, sig, std::memory_order_relaxed)) {
    ::_exit(128 + sig);  // second signal while shutting down
  }
  const std::uint64_t one = 1;
  [[maybe_unused]] ssize_t w =
      ::write(g_event_fd.load(std::memory_order_relaxed), &one, sizeof one);
  errno = saved_errno;
}

void watch(int fd, CancellationToken root) {
  // Programs often block SIGINT/SIGTERM in their threads; this thread inherited the mask of
  // whichever thread set it up. Unblock them here so the kernel always has a thread to deliver
  // them to, and it prefers this one when the others block them.
  sigset_t ours;
  sigemptyset(&ours);
  sigaddset(&ours, SIGINT);
  sigaddset(&ours, SIGTERM);
  ::pthread_sigmask(SIG_UNBLOCK, &ours, nullptr);
  std::uint64_t value = 0;
  bool cancelled = false;
  for (;;) {
    // poll(2) first: unlike read(2) it is never restarted after a signal handler (SA_RESTART),
    // so this thread always returns to user space when a signal lands on it. That matters only
    // under ThreadSanitizer, which defers handlers until the thread leaves the blocking call.
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, -1) < 0) {
      if (errno == EINTR) continue;
      std::fprintf(stderr, "executor: the shutdown signal watcher failed polling: %s\n",
                   std::strerror(errno));
      return;
    }
    ssize_t r = ::read(fd, &value, sizeof value);
    if (r < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (r != static_cast<ssize_t>(sizeof value)) {
      std::fprintf(stderr, "executor: the shutdown signal watcher failed reading its eventfd: %s\n",
                   r < 0 ? std::strerror(errno) : "short read");
      return;
    }
    if (!cancelled) {
      cancelled = true;
      // release: pairs with the acquire in shutdown_signal(); cancel() then publishes it to
      // every observer of the cancellation as well.
      g_reported.store(g_received.load(std::memory_order_relaxed), std::memory_order_release);
      root.cancel();
    }
    // Stay: while the process shuts down this thread remains one that takes SIGINT/SIGTERM (the
    // only one, if the program blocks them elsewhere), so the second signal reaches the handler.
  }
}

[[noreturn]] void throw_errno(int err, const char* what) {
  throw std::system_error(err, std::generic_category(),
                          std::string("executor::signals::new_shutdown_token: ") + what);
}

Setup* install() {
  std::lock_guard<std::mutex> lock(g_setup_mu);
  if (g_setup == nullptr) {
    int fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (fd < 0) throw_errno(errno, "eventfd");
    auto* setup = new Setup;
    try {
      std::thread(watch, fd, setup->root).detach();
    } catch (...) {
      ::close(fd);
      delete setup;
      throw;
    }
    g_event_fd.store(fd, std::memory_order_relaxed);
    g_owner_pid.store(::getpid(), std::memory_order_relaxed);
    g_setup = setup;
  }
  if (!g_handlers_installed) {
    struct sigaction sa {};
    sa.sa_handler = &on_signal;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    // Both signals are blocked while the handler runs, so the first/second decision is made by
    // one handler at a time per thread.
    sigaddset(&sa.sa_mask, SIGINT);
    sigaddset(&sa.sa_mask, SIGTERM);
    for (int sig : {SIGINT, SIGTERM}) {
      if (::sigaction(sig, &sa, nullptr) != 0) throw_errno(errno, "sigaction");  // retried later
    }
    g_handlers_installed = true;
  }
  return g_setup;
}

}  // namespace

CancellationToken new_shutdown_token() {
  return install()->root.child();
}

int shutdown_signal() noexcept {
  return g_reported.load(std::memory_order_acquire);
}

}  // namespace executor::signals
