// Shows that ThreadSanitizer's runtime (GCC 12's libtsan, Debian 12) sometimes loses a signal:
// the kernel delivers it (nothing stays pending), yet the program's handler never runs. No
// executor code is involved. See docs/cancellation.md#signals-under-threadsanitizer.
//
//   g++ -std=c++20 -O1 -fsanitize=thread tools/repro/tsan_lost_signal.cpp -o /tmp/lost
//   /tmp/lost 8000   # lost 0-3 of 8000 per run here (2026-11-22); never without -fsanitize=thread
//
// Each round: SIGINT is blocked in the main thread; a new thread unblocks it and waits in poll(2)
// on an eventfd that the handler writes; the main thread sends SIGINT to the process after a
// random delay of up to 400 us. A round whose handler has not run after 300 ms counts as lost.
#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <thread>

namespace {
int g_efd = -1;
std::atomic<int> g_handled{0};
}  // namespace

extern "C" void on_signal(int) {
  g_handled.fetch_add(1);
  const std::uint64_t one = 1;
  [[maybe_unused]] ssize_t w = ::write(g_efd, &one, sizeof one);
}

int main(int argc, char** argv) {
  const int rounds = argc > 1 ? std::atoi(argv[1]) : 3000;
  g_efd = ::eventfd(0, EFD_NONBLOCK);
  sigset_t only;
  sigemptyset(&only);
  sigaddset(&only, SIGINT);
  ::pthread_sigmask(SIG_BLOCK, &only, nullptr);
  struct sigaction sa {};
  sa.sa_handler = &on_signal;
  sa.sa_flags = SA_RESTART;
  sigaddset(&sa.sa_mask, SIGINT);
  ::sigaction(SIGINT, &sa, nullptr);
  std::mt19937 rng(1);
  int lost = 0;
  for (int i = 0; i < rounds; ++i) {
    g_handled = 0;
    std::thread t([&only] {
      ::pthread_sigmask(SIG_UNBLOCK, &only, nullptr);
      for (;;) {
        pollfd p{g_efd, POLLIN, 0};
        int r = ::poll(&p, 1, 300);
        if (r == 0) break;  // 300 ms without the handler: lost
        std::uint64_t v = 0;
        if (r > 0 && ::read(g_efd, &v, sizeof v) == sizeof v) break;
      }
      ::pthread_sigmask(SIG_BLOCK, &only, nullptr);
    });
    ::usleep(rng() % 400);
    ::kill(::getpid(), SIGINT);
    t.join();
    if (g_handled.load() != 1) ++lost;
  }
  std::printf("lost %d of %d\n", lost, rounds);
  return lost == 0 ? 0 : 1;
}
