// Firmware test: executor::sync::multishot between an interrupt handler and a task. The channel
// is lock-free, so the handler (an application-defined IRQ25_Handler, overriding the weak
// default) sends into it directly; the receiving task hands the handler a new Sender per round.
#include <cstdint>
#include <optional>

#include <executor/cortexm/critical_section.hpp>
#include <executor/cortexm/executor.hpp>
#include <executor/cortexm/irq.hpp>
#include <executor/join_handle.hpp>
#include <executor/sync/multishot.hpp>
#include <executor/task.hpp>
#include <executor/yield.hpp>

#include "test_support.hpp"

namespace {

using executor::JoinHandle;
using executor::Task;
namespace cm = executor::cortexm;
namespace ms = executor::sync::multishot;

constexpr unsigned kIrq = 25;

// Shared with the handler; every access from thread mode is in a critical section (tasks run
// masked anyway).
std::optional<ms::Sender<std::int32_t>> g_tx;
std::int32_t g_next_value = 0;
bool g_send = true;  // false: the handler drops the sender without sending
unsigned g_handled = 0;

void arm(ms::Sender<std::int32_t> tx, std::int32_t value, bool send) {
  cm::CriticalSection cs;
  g_tx = std::move(tx);
  g_next_value = value;
  g_send = send;
}

Task<void> rounds() {
  auto [tx, rx] = ms::channel<std::int32_t>();
  arm(std::move(tx), 0, true);
  cm::enable_irq(kIrq);
  for (std::int32_t round = 0; round < 5; ++round) {
    cm::pend_irq(kIrq);  // the handler runs at the loop's next window, after we suspend
    auto r = co_await rx.recv();
    CHECK(r.has_value());
    CHECK_EQ(*r, round * 7);
    std::optional<ms::Sender<std::int32_t>> next = rx.sender();  // the next round
    CHECK(next.has_value());
    arm(std::move(*next), (round + 1) * 7, round < 4);  // round 5: the handler drops it
  }
  cm::pend_irq(kIrq);
  auto closed = co_await rx.recv();
  CHECK(!closed.has_value());
  CHECK(closed.error() == ms::RecvError::kClosed);
}

Task<void> receive_into(ms::Receiver<std::int32_t>* rx, std::int32_t* out) {
  auto r = co_await rx->recv();
  *out = r ? *r : -1;
}

// A receiving task cancelled while suspended loses nothing: the value the handler sends later
// stays in the channel for the next receive.
Task<void> cancelled_receiver() {
  auto [tx, rx] = ms::channel<std::int32_t>();
  std::int32_t got = 0;
  auto r = cm::try_spawn(receive_into(&rx, &got));
  CHECK(r);
  co_await executor::yield_now();  // the receiver waits
  r.handle.abort_for_combinator();
  co_await executor::yield_now();  // its frame is destroyed
  CHECK(r.handle.is_finished());
  arm(std::move(tx), 99, true);
  cm::pend_irq(kIrq);
  co_await executor::yield_now();  // the handler ran in the window after our last run
  auto v = rx.try_recv();
  CHECK(v.has_value());
  CHECK_EQ(*v, 99);
  CHECK_EQ(got, 0);
}

}  // namespace

// Overrides the weak default handler of line 25 (which would wake irq_wakers(25)).
extern "C" void IRQ25_Handler() noexcept {
  ++g_handled;
  if (g_tx.has_value()) {
    if (g_send) g_tx->send(g_next_value);
    g_tx.reset();  // a sent sender is empty; an unsent one closes the round
  }
}

int main() {
  auto& ex = cm::executor();
  ex.block_on(rounds());
  CHECK_CLEAN();
  CHECK(g_handled >= 6);
  test::pass("an interrupt handler sends into a multishot channel, round after round");
  ex.block_on(cancelled_receiver());
  CHECK_CLEAN();
  test::pass("a cancelled receiver loses nothing");
  test::report_resources();
  return 0;
}
