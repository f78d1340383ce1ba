// Firmware death test: misuse stops the program with a clear message and a distinct exit status
// (panic 3, fault 4). QEMU's -append picks the scenario (semihosting SYS_GET_CMDLINE); ctest runs
// the image once per scenario (runtime/cortexm/CMakeLists.txt) and checks message and status.
#include <cstring>

#include <executor/cortexm/executor.hpp>
#include <executor/cortexm/irq.hpp>
#include <executor/detail/frame_allocator.hpp>
#include <executor/join_handle.hpp>
#include <executor/task.hpp>

#include "test_support.hpp"

namespace {

namespace cm = executor::cortexm;
using executor::Task;

Task<void> runs_the_loop() {
  cm::executor().run_ready();  // fatal: the loop inside a task
  co_return;
}

Task<void> joins_twice() {
  auto r = cm::try_spawn([]() -> Task<void> { co_return; });
  CHECK(r);
  executor::JoinHandle<void> h = std::move(r.handle);
  co_await h.join();
  co_await h.join();  // empty handle: traps without exceptions (a UsageFault -> HardFault)
}

bool is(const char* mode, const char* name) {
  return std::strcmp(mode, name) == 0;
}

}  // namespace

int main() {
  // QEMU's command line is "<kernel path> <-append text>": the scenario is the last word.
  char line[256] = {};
  CHECK(test::sh::command_line(line, sizeof line) > 0);
  const char* space = std::strrchr(line, ' ');
  const char* mode = space != nullptr ? space + 1 : line;
  auto& ex = cm::executor();
  if (is(mode, "loop_in_task")) {
    ex.block_on(runs_the_loop());
  } else if (is(mode, "irq_range")) {
    cm::pend_irq(cm::kNumIrqs);
  } else if (is(mode, "foreign_free")) {
    int x = 0;
    executor::detail::free_frame(&x, sizeof x);
  } else if (is(mode, "join_twice")) {
    ex.block_on(joins_twice());
  } else {
    test::sh::write(mode);
    test::sh::write("\n");
    test::fail(__FILE__, __LINE__, "unknown mode");
  }
  test::sh::write("survived the misuse\n");
  return 0;
}
