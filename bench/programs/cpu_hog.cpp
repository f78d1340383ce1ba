// The busy neighbour of the bench driver's `hog` condition (docs/performance.md#conditions): one
// thread that spins on the CPU at the priority it was started with, doing no system call while
// it spins, until it is killed or --seconds have passed.
//
//   cpu_hog --seconds=300
//
// The driver starts one per CPU before each executor/baseline pair and kills them after it.
// Bounded even if the driver dies: it exits by itself after --seconds (1..3600), and the kernel
// kills it when its parent exits (PR_SET_PDEATHSIG). Prints nothing; exit code 0 on timeout.
#include <sys/prctl.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace {

[[noreturn]] void usage() {
  std::fprintf(stderr, "usage: cpu_hog --seconds=N (1..3600)\n");
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  long seconds = -1;
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--seconds=", 10) != 0) usage();
    char* end = nullptr;
    seconds = std::strtol(argv[i] + 10, &end, 10);
    if (end == argv[i] + 10 || *end != '\0') usage();
  }
  if (seconds < 1 || seconds > 3600) usage();

  // Dies with the driver. The parent may already be gone before prctl took effect: check once.
  const pid_t parent = ::getppid();
  if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || ::getppid() != parent) return 1;

  using Clock = std::chrono::steady_clock;
  const Clock::time_point end = Clock::now() + std::chrono::seconds(seconds);
  // volatile: the spin loop must not be optimised away. The clock is read once per ~100 µs of
  // spinning (vDSO, no system call), so the hog almost never leaves user space.
  volatile std::uint64_t counter = 0;
  while (Clock::now() < end) {
    for (int i = 0; i < 100'000; ++i) counter = counter + 1;
  }
  return 0;
}
