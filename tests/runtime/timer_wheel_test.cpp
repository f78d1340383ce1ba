// TimerWheel (runtime/linux/timer_wheel.hpp) driven with synthetic time points: never fires
// early, fires within one tick of the deadline, cascades from every level, cancels in O(1),
// handles deadlines in the past and at the end of time, and agrees with a brute-force model
// under random inserts, cancels and polls.
#include "timer_wheel.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <vector>

namespace {

using executor::detail::TimerNode;
using executor::detail::TimerWheel;
using Clock = std::chrono::steady_clock;
using std::chrono::nanoseconds;

Clock::time_point at(std::int64_t ns) {
  return Clock::time_point(std::chrono::duration_cast<Clock::duration>(nanoseconds(ns)));
}

struct Fixture {
  TimerWheel wheel;
  std::vector<std::unique_ptr<TimerNode>> nodes;
  std::vector<TimerNode*> fired;

  TimerNode* add(std::int64_t deadline_ns) {
    nodes.push_back(std::make_unique<TimerNode>());
    TimerNode* n = nodes.back().get();
    n->deadline = at(deadline_ns);
    wheel.insert(n);
    return n;
  }
  std::size_t poll(std::int64_t now_ns) {
    return wheel.poll(at(now_ns), [&](TimerNode* n) { fired.push_back(n); });
  }
  // Polls in bounded batches of `max` until one comes back short, as Reactor does.
  std::size_t poll_batches(std::int64_t now_ns, std::size_t max) {
    std::size_t total = 0;
    for (std::size_t n = max; n == max;) {
      n = wheel.poll(
          at(now_ns), [&](TimerNode* t) { fired.push_back(t); }, max);
      total += n;
    }
    return total;
  }
};

constexpr std::int64_t kTick = std::int64_t{1} << TimerWheel::kTickShift;
constexpr std::int64_t kStart = std::int64_t{1000} * 1000 * 1000 * 3600;  // one hour of uptime

TEST(TimerWheel, FiresAtTheEndOfTheDeadlinesTickNeverBefore) {
  Fixture f;
  f.poll(kStart);
  std::int64_t deadline = kStart + 10'000'000 + 123;  // 10 ms later, mid-tick
  TimerNode* n = f.add(deadline);
  EXPECT_NE(n->slot.load(), TimerNode::kNotQueued);
  std::int64_t due = (deadline / kTick + 1) * kTick;
  // next_due() is the end of the deadline's tick, or earlier when the timer must first cascade
  // down a level (it crossed a 1,024-tick boundary).
  ASSERT_LE(f.wheel.next_due(), at(due));
  EXPECT_EQ(f.poll(deadline), 0u);  // at the deadline, but its tick has not ended
  EXPECT_EQ(f.wheel.next_due(), at(due));
  EXPECT_EQ(f.poll(due - 1), 0u);
  EXPECT_EQ(f.poll(due), 1u);
  EXPECT_EQ(n->slot.load(), TimerNode::kNotQueued);
  EXPECT_TRUE(f.wheel.empty());
  EXPECT_EQ(f.wheel.next_due(), Clock::time_point::max());
}

TEST(TimerWheel, CascadesFromEveryLevel) {
  // Timers on every level: 1 tick (level 0), 1 s (1), 1 h (2), 1 day and 1 year (3), 100 years
  // (4) ahead.
  Fixture f;
  f.poll(kStart);
  std::vector<std::int64_t> ahead = {kTick,
                                     1'000'000'000,
                                     std::int64_t{3600} * 1'000'000'000,
                                     std::int64_t{86400} * 1'000'000'000,
                                     std::int64_t{365} * 86400 * 1'000'000'000,
                                     std::int64_t{100} * 365 * 86400 * 1'000'000'000};
  std::vector<TimerNode*> nodes;
  for (std::int64_t a : ahead) nodes.push_back(f.add(kStart + a + 7));
  std::int64_t now = kStart;
  // Jump from due time to due time, as the completion thread does.
  for (int steps = 0; steps < 10'000 && !f.wheel.empty(); ++steps) {
    auto due = f.wheel.next_due();
    ASSERT_NE(due, Clock::time_point::max());
    now = std::chrono::duration_cast<nanoseconds>(due.time_since_epoch()).count();
    std::size_t before = f.fired.size();
    f.poll(now);
    for (std::size_t i = before; i < f.fired.size(); ++i) {
      EXPECT_LE(f.fired[i]->deadline, at(now)) << "fired early";
      EXPECT_LT(at(now) - f.fired[i]->deadline, nanoseconds(kTick)) << "fired late";
    }
  }
  ASSERT_TRUE(f.wheel.empty());
  EXPECT_EQ(f.fired, nodes);  // in deadline order
}

TEST(TimerWheel, PastDeadlinesFireAtTheNextPoll) {
  Fixture f;
  f.poll(kStart);
  TimerNode* past = f.add(kStart - 5'000'000);
  TimerNode* zero = f.add(-1);  // before the clock's epoch
  EXPECT_EQ(f.poll(kStart + kTick), 2u);
  EXPECT_EQ(past->slot.load(), TimerNode::kNotQueued);
  EXPECT_EQ(zero->slot.load(), TimerNode::kNotQueued);
}

TEST(TimerWheel, EndOfTimeNeverFiresAndCanBeRemoved) {
  Fixture f;
  f.poll(kStart);
  TimerNode* n = f.add(0);
  n->deadline = Clock::time_point::max();
  f.wheel.remove(n);
  f.wheel.insert(n);
  EXPECT_EQ(f.poll(kStart + std::int64_t{1000} * 86400 * 1'000'000'000), 0u);
  f.wheel.remove(n);
  EXPECT_TRUE(f.wheel.empty());
  EXPECT_EQ(n->slot.load(), TimerNode::kNotQueued);
}

TEST(TimerWheel, BoundedPollsFireEverythingOnceAcrossCalls) {
  Fixture f;
  f.poll(kStart);
  // 1,000 timers in one tick and 1,000 spread over 100 ticks, some needing a cascade.
  for (int i = 0; i < 1000; ++i) f.add(kStart + 5'000'000 + i);
  for (int i = 0; i < 1000; ++i) f.add(kStart + 5'000'000 + (i % 100) * kTick + 70'000'000);
  std::int64_t now = kStart + 5'000'000 + 100 * kTick + 70'000'000 + kTick;
  std::size_t calls = 0;
  while (std::size_t n = f.wheel.poll(
             at(now), [&](TimerNode* n) { f.fired.push_back(n); }, 64)) {
    ASSERT_LE(n, 64u);
    ++calls;
    if (n < 64) break;
  }
  EXPECT_GE(calls, 2000u / 64);
  EXPECT_EQ(f.fired.size(), 2000u);
  EXPECT_TRUE(f.wheel.empty());
  std::sort(f.fired.begin(), f.fired.end());
  EXPECT_EQ(std::unique(f.fired.begin(), f.fired.end()), f.fired.end()) << "fired twice";
  // A bounded poll that stops mid-slot leaves nothing early behind: a later insert still fires.
  TimerNode* late = f.add(now + 1'000'000);
  EXPECT_EQ(f.poll(now + 1'000'000), 0u);
  EXPECT_EQ(f.poll(now + 1'000'000 + kTick), 1u);
  EXPECT_EQ(late->slot.load(), TimerNode::kNotQueued);
}

TEST(TimerWheel, RemoveUnlinksFromTheMiddleOfASlot) {
  Fixture f;
  f.poll(kStart);
  TimerNode* a = f.add(kStart + 1'000'000);
  TimerNode* b = f.add(kStart + 1'000'001);
  TimerNode* c = f.add(kStart + 1'000'002);
  f.wheel.remove(b);
  EXPECT_EQ(f.wheel.size(), 2u);
  f.poll(kStart + 2'000'000);
  ASSERT_EQ(f.fired.size(), 2u);
  EXPECT_TRUE(std::find(f.fired.begin(), f.fired.end(), a) != f.fired.end());
  EXPECT_TRUE(std::find(f.fired.begin(), f.fired.end(), c) != f.fired.end());
  // Removing the last node of a slot clears it: nothing is due any more.
  TimerNode* d = f.add(kStart + 3'000'000);
  f.wheel.remove(d);
  EXPECT_EQ(f.wheel.next_due(), Clock::time_point::max());
}

// A busy slot is spread over kLanes lists: removing heads, middles and tails of every lane,
// then stopping bounded polls at every position of the walk, still fires each remaining node
// exactly once; emptying every lane of a slot clears it.
TEST(TimerWheel, LanesOfABusySlotSurviveRemovesAndBoundedPolls) {
  constexpr int kNodes = 5 * static_cast<int>(TimerWheel::kLanes) + 3;
  for (std::size_t max = 1; max <= TimerWheel::kLanes + 2; ++max) {
    Fixture f;
    f.poll(kStart);
    std::vector<TimerNode*> nodes;
    for (int i = 0; i < kNodes; ++i) nodes.push_back(f.add(kStart + 1'000'000 + i));  // one tick
    // Lanes fill round-robin and each lane is LIFO: the first kLanes nodes are the lanes'
    // tails, the last ones their heads.
    std::vector<TimerNode*> removed = {nodes[0], nodes[3], nodes[kNodes / 2], nodes[kNodes - 1],
                                       nodes[kNodes - 2]};
    for (TimerNode* n : removed) f.wheel.remove(n);
    EXPECT_EQ(f.wheel.size(), nodes.size() - removed.size());
    std::size_t total = f.poll_batches(kStart + 2'000'000, max);
    EXPECT_EQ(total, nodes.size() - removed.size()) << "max " << max;
    EXPECT_TRUE(f.wheel.empty());
    std::vector<TimerNode*> expected;
    for (TimerNode* n : nodes) {
      if (std::find(removed.begin(), removed.end(), n) == removed.end()) expected.push_back(n);
    }
    std::sort(expected.begin(), expected.end());
    std::sort(f.fired.begin(), f.fired.end());
    EXPECT_EQ(f.fired, expected) << "max " << max;
    for (TimerNode* n : nodes) EXPECT_EQ(n->slot.load(), TimerNode::kNotQueued);
  }
  Fixture f;
  f.poll(kStart);
  std::vector<TimerNode*> nodes;
  for (std::size_t i = 0; i < 2 * TimerWheel::kLanes + 1; ++i) {
    nodes.push_back(f.add(kStart + 1'000'000 + static_cast<std::int64_t>(i)));
  }
  EXPECT_NE(f.wheel.next_due(), Clock::time_point::max());
  for (TimerNode* n : nodes) f.wheel.remove(n);
  EXPECT_EQ(f.wheel.next_due(), Clock::time_point::max());
  EXPECT_EQ(f.poll(kStart + 10'000'000), 0u);
}

// Random inserts, removes and polls (small and huge steps) against a brute-force model: every
// timer fires exactly once, never before its deadline, and by the first poll at or after the
// end of its tick (for a deadline already in the past when inserted: the end of the current
// tick, the one of the last poll).
TEST(TimerWheel, AgreesWithAModel) {
  std::mt19937_64 rng(42);
  Fixture f;
  std::int64_t now = kStart;
  f.poll(now);
  std::vector<TimerNode*> live;
  std::map<TimerNode*, std::int64_t> due;  // when the node must have fired (ns)
  std::size_t removed = 0;
  for (int step = 0; step < 20'000; ++step) {
    int op = static_cast<int>(rng() % 10);
    if (op < 5) {
      // Mostly near deadlines, some far (every level), some in the past.
      std::int64_t span = std::int64_t{1} << (rng() % 50);
      std::int64_t d = now + static_cast<std::int64_t>(rng() % span) - (op == 0 ? span / 2 : 0);
      live.push_back(f.add(d));
      due[live.back()] = (std::max(std::max<std::int64_t>(d, 0) / kTick, now / kTick) + 1) * kTick;
    } else if (op < 7 && !live.empty()) {
      std::size_t i = rng() % live.size();
      if (live[i]->slot.load() != TimerNode::kNotQueued) {
        f.wheel.remove(live[i]);
        ++removed;
      }
      live.erase(live.begin() + static_cast<std::ptrdiff_t>(i));
    } else {
      std::int64_t step_ns = op == 9 ? static_cast<std::int64_t>(rng() % (std::int64_t{1} << 44))
                                     : static_cast<std::int64_t>(rng() % (4 * kTick));
      now += step_ns;
      std::size_t before = f.fired.size();
      if (op == 8) {
        f.poll_batches(now, 1 + rng() % 5);  // bounded polls stop anywhere
      } else {
        f.poll(now);
      }
      for (std::size_t i = before; i < f.fired.size(); ++i) {
        ASSERT_LE(f.fired[i]->deadline, at(now)) << "fired early at step " << step;
      }
      // Everything whose tick has ended must have fired.
      for (TimerNode* n : live) {
        if (n->slot.load() == TimerNode::kNotQueued) continue;
        ASSERT_GT(due[n], now) << "overdue timer still queued at step " << step;
      }
      live.erase(
          std::remove_if(live.begin(), live.end(),
                         [](TimerNode* n) { return n->slot.load() == TimerNode::kNotQueued; }),
          live.end());
    }
  }
  EXPECT_EQ(f.fired.size() + removed + f.wheel.size(), f.nodes.size());
  std::sort(f.fired.begin(), f.fired.end());
  EXPECT_EQ(std::unique(f.fired.begin(), f.fired.end()), f.fired.end()) << "fired twice";
}

}  // namespace
