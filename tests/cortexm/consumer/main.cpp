// A small application on the public Cortex-M API only: a "LED" task on SysTick sleeps, a
// "button" task on an interrupt line (pended by a timer task standing in for the hardware), and
// the image's own frame pools. Exits 0 through semihosting when main returns.
#include <chrono>

#include <executor/cortexm/executor.hpp>
#include <executor/cortexm/frame_pool.hpp>
#include <executor/cortexm/irq.hpp>
#include <executor/cortexm/sleep.hpp>
#include <executor/task.hpp>

EXECUTOR_CORTEXM_FRAME_POOLS(executor::cortexm::FramePoolSpec{128, 8})

namespace {

namespace cm = executor::cortexm;
using namespace std::chrono_literals;
constexpr unsigned kButton = 3;

int g_toggles = 0;
int g_presses = 0;

executor::Task<void> led() {
  for (int i = 0; i < 10; ++i) {
    ++g_toggles;
    co_await cm::sleep(5ms);
  }
}

executor::Task<void> button() {
  for (;;) {  // until 20 ms of silence
    // HACK(GCC 12.2, no upstream PR found): a co_await that *is* the condition of an if,
    // while or switch (`while (co_await x)`) miscompiles: the coroutine re-runs its initial
    // suspend or hits an invalid resume index. Bind the result first (docs/cortexm.md).
    const bool pressed = co_await cm::wait_irq_for(kButton, 20ms);
    if (!pressed) break;
    ++g_presses;
  }
}

executor::Task<void> fake_hardware() {
  for (int i = 0; i < 3; ++i) {
    co_await cm::sleep(7ms);
    cm::pend_irq(kButton);
  }
}

executor::Task<int> app() {
  auto l = cm::try_spawn(led());
  auto b = cm::try_spawn(button());
  auto h = cm::try_spawn(fake_hardware());
  if (!l || !b || !h) co_return 1;
  co_await std::move(l.handle);
  co_await std::move(b.handle);
  co_await std::move(h.handle);
  co_return g_toggles == 10 && g_presses == 3 ? 0 : 2;
}

}  // namespace

int main() {
  return cm::executor().block_on(app());
}
