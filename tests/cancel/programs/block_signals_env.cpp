// Linked into the test programs: with EXECUTOR_TEST_BLOCK_SIGNALS=1 in the environment, SIGINT
// and SIGTERM are blocked before main, so in every thread the runtime creates; only the shutdown
// signal watcher thread (which unblocks them for itself) can then take them.
#include <pthread.h>

#include <csignal>
#include <cstdlib>

namespace cancel_test {

extern const bool g_signals_blocked = [] {
  if (std::getenv("EXECUTOR_TEST_BLOCK_SIGNALS") == nullptr) return false;
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, SIGINT);
  sigaddset(&s, SIGTERM);
  return pthread_sigmask(SIG_BLOCK, &s, nullptr) == 0;
}();

}  // namespace cancel_test
