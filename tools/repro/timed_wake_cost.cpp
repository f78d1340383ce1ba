// What a 1 ms timed wait costs the thread that wakes from it, and what pushing a timer forward
// costs, on this machine (docs/performance.md#per-thread-where-the-last-5-goes). No executor
// code: the completion thread's 1 ms looks pay exactly this per wake-up.
//
//   g++ -std=c++20 -O2 tools/repro/timed_wake_cost.cpp -o /tmp/wake -luring && /tmp/wake 2000
#include <liburing.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>

namespace {

long thread_cpu_ns() {
  timespec t{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return t.tv_sec * 1'000'000'000L + t.tv_nsec;
}

template <class F>
void measure(const char* what, int n, F f) {
  long before = thread_cpu_ns();
  for (int i = 0; i < n; ++i) f();
  std::printf("%-40s %6.2f us of thread CPU each\n", what, (thread_cpu_ns() - before) / 1e3 / n);
}

}  // namespace

int main(int argc, char** argv) {
  const int n = argc > 1 ? std::atoi(argv[1]) : 2000;
  io_uring ring;
  if (io_uring_queue_init(8, &ring, 0) != 0) return 1;
  measure("io_uring_submit_and_wait_timeout 1 ms", n, [&ring] {
    __kernel_timespec ts{0, 1'000'000};
    io_uring_cqe* cqe = nullptr;
    io_uring_submit_and_wait_timeout(&ring, &cqe, 1, &ts, nullptr);
  });
  measure("nanosleep 1 ms", n, [] {
    timespec ts{0, 1'000'000};
    ::nanosleep(&ts, nullptr);
  });
  int ep = ::epoll_create1(0);
  measure("epoll_wait 1 ms", n, [ep] {
    epoll_event ev[1];
    ::epoll_wait(ep, ev, 1, 1);
  });
  int tfd = ::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
  measure("timerfd_settime to now + 1 ms", n * 50, [tfd] {
    itimerspec its{};
    its.it_value.tv_nsec = 1'000'000;
    ::timerfd_settime(tfd, 0, &its, nullptr);
  });
  ::close(tfd);
  ::close(ep);
  io_uring_queue_exit(&ring);
}
