// Runtime::abandon() under load, many times over (tests/core/main_test.cpp): each round starts a
// runtime whose detached tasks yield, sleep and respawn, abandons it, and leaks it as
// EXECUTOR_MAIN does. A worker left parked by abandon() hangs the program; the test's timeout
// catches it. argv[1]: rounds.
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>

#include <executor/executor.hpp>

namespace {
using namespace std::chrono_literals;

// The abandoned runtimes, kept reachable (as EXECUTOR_MAIN keeps its abandoned one), so leak
// checkers see them as still referenced, not leaked.
std::vector<executor::Runtime*>* volatile g_abandoned = new std::vector<executor::Runtime*>;

executor::Task<void> churn(int depth) {
  for (int i = 0;; ++i) {
    if (i % 3 == 0) {
      co_await executor::sleep(50us);
    } else {
      co_await executor::yield_now();
    }
    if (depth < 2 && i % 50 == 0) executor::spawn(churn, depth + 1).detach();
  }
}
}  // namespace

int main(int argc, char** argv) {
  int rounds = argc > 1 ? std::atoi(argv[1]) : 200;
  rlimit lim;  // every abandoned runtime keeps its rings' and eventfds' descriptors
  if (::getrlimit(RLIMIT_NOFILE, &lim) == 0) {
    lim.rlim_cur = lim.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &lim);
  }
  for (int r = 0; r < rounds; ++r) {
    auto* rt = new executor::Runtime({.workers = 2, .ring_entries = 16});
    for (int i = 0; i < 4; ++i) rt->spawn(churn(0)).detach();
    std::this_thread::sleep_for(std::chrono::microseconds(200 + (r % 7) * 150));
    rt->abandon();  // never destroyed, as EXECUTOR_MAIN never destroys an abandoned runtime
    g_abandoned->push_back(rt);
  }
  std::printf("abandoned %d runtimes\n", rounds);
  return 0;
}
