// Firmware test: executor::sync::Handoff on the target — producer/consumer between tasks, a
// producer paced by an interrupt, and a consumer cancelled while it holds a delivered value
// (the value goes back to the producer: nothing lost, nothing duplicated).
#include <cstdint>
#include <optional>

#include <executor/cortexm/clock.hpp>
#include <executor/cortexm/executor.hpp>
#include <executor/cortexm/irq.hpp>
#include <executor/cortexm/sleep.hpp>
#include <executor/join_handle.hpp>
#include <executor/sync/handoff.hpp>
#include <executor/task.hpp>
#include <executor/yield.hpp>

#include "test_support.hpp"

namespace {

using executor::JoinHandle;
using executor::Task;
using executor::sync::Handoff;
using executor::sync::Popper;
using executor::sync::Pusher;
namespace cm = executor::cortexm;
using Ticks = cm::TickClock::duration;

constexpr unsigned kDeviceIrq = 27;

// A value that counts its live instances, to prove a handoff neither copies nor loses one.
int g_live = 0;
struct Sample {
  std::int32_t value = 0;
  std::int64_t tick = 0;
  Sample(std::int32_t v, std::int64_t t) : value(v), tick(t) { ++g_live; }
  Sample(Sample&& o) noexcept : value(o.value), tick(o.tick) { ++g_live; }
  Sample& operator=(Sample&&) = default;
  Sample(const Sample&) = delete;
  ~Sample() { --g_live; }
};

std::int64_t ticks_now() {
  return cm::TickClock::now().time_since_epoch().count();
}

JoinHandle<void> spawn(Task<void> t) {
  auto r = cm::try_spawn(std::move(t));
  CHECK(r);
  return std::move(r.handle);
}

Task<void> producer(Pusher<int> pusher, int n) {
  for (int i = 1; i <= n; ++i) {
    bool taken = co_await pusher.push(int(i));
    CHECK(taken);
  }
}  // the Pusher dies here: the consumer's next pop yields nullopt

Task<std::int32_t> consumer(Popper<int> popper) {
  std::int32_t sum = 0;
  int expected = 1;
  while (std::optional<int> v = co_await popper.pop()) {
    CHECK_EQ(*v, expected);
    ++expected;
    sum += *v;
  }
  co_return sum;
}

Task<void> producer_consumer() {
  Handoff<int> h;
  auto [pusher, popper] = h.split();
  auto c = cm::try_spawn(consumer(std::move(popper)));
  CHECK(c);
  auto p = spawn(producer(std::move(pusher), 100));
  co_await std::move(p);
  CHECK_EQ(co_await std::move(c.handle), 5050);
}

// The "device": a sleeper that raises the device interrupt every 3 ticks, 5 times.
Task<void> device() {
  for (int i = 0; i < 5; ++i) {
    co_await cm::sleep(Ticks(3));
    cm::pend_irq(kDeviceIrq);
  }
}

// The driver task: waits for the device interrupt, then hands a sample to the consumer.
Task<void> driver(Pusher<Sample> out) {
  for (int i = 0; i < 5; ++i) {
    co_await cm::wait_irq(kDeviceIrq);
    bool taken = co_await out.push(Sample(i, ticks_now()));
    CHECK(taken);
  }
}

Task<void> interrupt_paced() {
  Handoff<Sample> h;
  auto [pusher, popper] = h.split();
  const std::int64_t start = ticks_now();
  auto d = spawn(driver(std::move(pusher)));
  auto dev = spawn(device());
  for (int i = 0; i < 5; ++i) {
    std::optional<Sample> s = co_await popper.pop();
    CHECK(s.has_value());
    CHECK_EQ(s->value, i);
    CHECK_EQ(s->tick, start + 3 * (i + 1));  // sampled in the tick its interrupt fired
  }
  co_await std::move(d);
  co_await std::move(dev);
  CHECK(!(co_await popper.pop()).has_value());  // the driver's Pusher is gone
}

Task<void> pop_into(Popper<Sample>* popper, int* got) {
  std::optional<Sample> s = co_await popper->pop();
  *got = s ? s->value : -1;
}

Task<void> push_one(Pusher<Sample>* pusher, bool* taken) {
  Sample s(7, 0);
  *taken = co_await pusher->push(std::move(s));
}

Task<void> cancel_holding_a_value() {
  Handoff<Sample> h;
  auto [pusher, popper] = h.split();
  int got = 0;
  bool taken = false;
  auto c = spawn(pop_into(&popper, &got));
  co_await executor::yield_now();  // c waits in pop()
  auto p = spawn(push_one(&pusher, &taken));
  co_await executor::yield_now();  // p delivers 7 into c's frame and waits; c is queued
  CHECK_EQ(g_live, 2);             // p's variable (moved-from) and the value in c's frame
  c.abort_for_combinator();        // c is destroyed before it resumes
  co_await executor::yield_now();
  CHECK(c.is_finished());
  CHECK_EQ(got, 0);
  std::optional<Sample> back = popper.try_pop();  // the value went back to the pusher
  CHECK(back.has_value());
  CHECK_EQ(back->value, 7);
  co_await std::move(p);
  CHECK(taken);
}

}  // namespace

int main() {
  auto& ex = cm::executor();
  ex.block_on(producer_consumer());
  CHECK_CLEAN();
  test::pass("producer/consumer over Handoff<int>: 100 values in order");
  ex.block_on(interrupt_paced());
  CHECK_CLEAN();
  CHECK_EQ(g_live, 0);
  test::pass("interrupt-paced driver hands samples over at their tick");
  ex.block_on(cancel_holding_a_value());
  CHECK_CLEAN();
  CHECK_EQ(g_live, 0);
  test::pass("a cancelled popper gives its delivered value back");
  test::report_resources();
  return 0;
}
