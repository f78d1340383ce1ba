// Handoff<T>: rendezvous semantics, try_push/try_pop, closing ends, destruction of a suspended
// push or pop at every suspension point (no value lost or duplicated), a randomized model test,
// and a single-worker Runtime run.
#include <executor/sync/handoff.hpp>

#include <gtest/gtest.h>

#include <deque>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <executor/executor.hpp>

#include "manual_executor.hpp"

namespace {

using executor::JoinHandle;
using executor::Task;
using executor::sync::Handoff;
using executor::sync::Popper;
using executor::sync::Pusher;
using executor::test::ManualExecutor;

using Box = std::unique_ptr<int>;

Task<void> push_one(Pusher<Box>* p, Box* value, int* result) {
  bool taken = co_await p->push(std::move(*value));
  *result = taken ? 1 : 0;
}

Task<void> pop_one(Popper<Box>* p, std::optional<Box>* out, int* done) {
  *out = co_await p->pop();
  *done = 1;
}

// A destroyed push leaves `value` untouched when nobody took it.
TEST(Handoff, DestroyWhileLinkedPushKeepsTheValue) {
  ManualExecutor ex;
  Handoff<Box> h;
  auto [push, pop] = h.split();
  Box v = std::make_unique<int>(7);
  int result = -1;
  auto t = ex.spawn(push_one(&push, &v, &result));
  ex.run();
  EXPECT_FALSE(t.is_finished());
  t.abort_for_combinator();
  ex.run();
  EXPECT_TRUE(t.is_finished());
  EXPECT_EQ(result, -1);
  ASSERT_TRUE(v);
  EXPECT_EQ(*v, 7);
  EXPECT_FALSE(pop.try_pop().has_value());  // unlinked: nothing is waiting any more
  // The handoff still works afterwards.
  EXPECT_FALSE(push.try_push(std::move(v)));
  ASSERT_TRUE(v);
}

// A pop that received a value but was destroyed before resuming gives it back to the pusher,
// which keeps waiting for the next popper.
TEST(Handoff, DestroyWhilePopHoldsDeliveredValueGivesItBack) {
  ManualExecutor ex;
  Handoff<Box> h;
  auto [push, pop] = h.split();
  std::optional<Box> got1, got2;
  int done1 = 0, done2 = 0, result = -1;
  auto p1 = ex.spawn(pop_one(&pop, &got1, &done1));
  ex.run();  // p1 waits
  Box v = std::make_unique<int>(11);
  auto q = ex.spawn(push_one(&push, &v, &result));
  ASSERT_TRUE(ex.run_one());  // runs q: delivers into p1 and suspends; p1 is queued
  EXPECT_FALSE(v);            // moved into p1's frame
  p1.abort_for_combinator();
  ex.run();  // p1 is destroyed instead of resumed
  EXPECT_EQ(done1, 0);
  ASSERT_TRUE(v);  // back with the pusher
  EXPECT_EQ(*v, 11);
  EXPECT_EQ(result, -1);  // the push still waits
  auto p2 = ex.spawn(pop_one(&pop, &got2, &done2));
  ex.run();
  EXPECT_EQ(done2, 1);
  ASSERT_TRUE(got2.has_value() && *got2);
  EXPECT_EQ(**got2, 11);
  EXPECT_EQ(result, 1);
  EXPECT_FALSE(v);
}

// The same, but the Popper end is gone too: the push completes with false and the value back.
TEST(Handoff, DestroyedPopAndPopperCloseThePushWithTheValueBack) {
  ManualExecutor ex;
  Handoff<Box> h;
  auto ends = h.split();
  std::optional<Box> got;
  int done = 0, result = -1;
  auto p = ex.spawn(pop_one(&ends.popper, &got, &done));
  ex.run();
  Box v = std::make_unique<int>(3);
  auto q = ex.spawn(push_one(&ends.pusher, &v, &result));
  ASSERT_TRUE(ex.run_one());
  ends.popper = Popper<Box>();  // the pop op is independent of the end object
  p.abort_for_combinator();
  ex.run();
  EXPECT_EQ(result, 0);
  ASSERT_TRUE(v);
  EXPECT_EQ(*v, 3);
}

// A push whose value was delivered into a waiting pop is complete for the popper even if the
// pushing coroutine is destroyed before the popper resumes.
TEST(Handoff, DestroyDeliveredPushPopperStillGetsTheValue) {
  ManualExecutor ex;
  Handoff<Box> h;
  auto [push, pop] = h.split();
  std::optional<Box> got;
  int done = 0, result = -1;
  auto p = ex.spawn(pop_one(&pop, &got, &done));
  ex.run();
  Box v = std::make_unique<int>(5);
  auto q = ex.spawn(push_one(&push, &v, &result));
  ASSERT_TRUE(ex.run_one());  // q delivers and suspends
  q.abort_for_combinator();
  ex.run();
  EXPECT_EQ(done, 1);
  ASSERT_TRUE(got.has_value() && *got);
  EXPECT_EQ(**got, 5);
  EXPECT_EQ(result, -1);
  EXPECT_FALSE(v);
}

// A pop that took the value from a waiting push synchronously: destroying the pusher before it
// resumes changes nothing.
TEST(Handoff, DestroyCompletedPushBeforeItResumes) {
  ManualExecutor ex;
  Handoff<Box> h;
  auto [push, pop] = h.split();
  Box v = std::make_unique<int>(9);
  int result = -1, done = 0;
  std::optional<Box> got;
  auto q = ex.spawn(push_one(&push, &v, &result));
  ex.run();
  auto p = ex.spawn(pop_one(&pop, &got, &done));
  ASSERT_TRUE(ex.run_one());  // p takes synchronously; q is queued
  EXPECT_EQ(done, 1);
  q.abort_for_combinator();
  ex.run();
  EXPECT_EQ(result, -1);
  ASSERT_TRUE(got.has_value() && *got);
  EXPECT_EQ(**got, 9);
  EXPECT_FALSE(v);
}

TEST(Handoff, DestroyWhileLinkedPop) {
  ManualExecutor ex;
  Handoff<Box> h;
  auto [push, pop] = h.split();
  std::optional<Box> got;
  int done = 0;
  auto p = ex.spawn(pop_one(&pop, &got, &done));
  ex.run();
  p.abort_for_combinator();
  ex.run();
  EXPECT_EQ(done, 0);
  Box v = std::make_unique<int>(1);
  EXPECT_FALSE(push.try_push(std::move(v)));  // no popper waits any more
  EXPECT_TRUE(v);
}

TEST(Handoff, BothSidesDestroyedAfterDelivery) {
  ManualExecutor ex;
  Handoff<Box> h;
  auto [push, pop] = h.split();
  std::optional<Box> got;
  int done = 0, result = -1;
  auto p = ex.spawn(pop_one(&pop, &got, &done));
  ex.run();
  auto v = std::make_unique<Box>(std::make_unique<int>(2));
  auto q = ex.spawn(push_one(&push, v.get(), &result));
  ASSERT_TRUE(ex.run_one());
  q.abort_for_combinator();
  p.abort_for_combinator();
  ex.run();  // the value dies with the popper's frame (both owners are gone); ASan checks leaks
  EXPECT_EQ(done, 0);
  EXPECT_EQ(result, -1);
}

Task<void> ping(Pusher<int>* out, Popper<int>* in, int n, int* last) {
  for (int i = 0; i < n; ++i) {
    int v = i;
    if (!co_await out->push(std::move(v))) co_return;
    std::optional<int> r = co_await in->pop();
    if (!r) co_return;
    *last = *r;
  }
}

Task<void> pong(Popper<int>* in, Pusher<int>* out) {
  for (;;) {
    std::optional<int> r = co_await in->pop();
    if (!r) co_return;
    int v = *r + 1000;
    if (!co_await out->push(std::move(v))) co_return;
  }
}

TEST(Handoff, PingPong) {
  ManualExecutor ex;
  Handoff<int> a, b;
  auto [a_push, a_pop] = a.split();
  auto [b_push, b_pop] = b.split();
  int last = -1;
  auto t1 = ex.spawn(ping(&a_push, &b_pop, 1000, &last));
  auto t2 = ex.spawn(pong(&a_pop, &b_push));
  ex.run();
  EXPECT_TRUE(t1.is_finished());
  EXPECT_EQ(last, 1999);
  EXPECT_FALSE(t2.is_finished());  // waits for the next value
  a_push = Pusher<int>();          // closing the pusher ends pong's pop with nullopt
  ex.run();
  EXPECT_TRUE(t2.is_finished());
}

TEST(Handoff, TryPushAndTryPop) {
  ManualExecutor ex;
  Handoff<std::string> h;
  auto [push, pop] = h.split();
  std::string s = "hello";
  EXPECT_FALSE(push.try_push(std::move(s)));
  EXPECT_EQ(s, "hello");
  EXPECT_FALSE(pop.try_pop().has_value());

  // try_pop takes from a waiting push.
  auto pusher = [](Pusher<std::string>* p, std::string* v, int* r) -> Task<void> {
    *r = co_await p->push(std::move(*v)) ? 1 : 0;
  };
  int r = -1;
  auto t = ex.spawn(pusher(&push, &s, &r));
  ex.run();
  std::optional<std::string> got = pop.try_pop();
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(*got, "hello");
  ex.run();
  EXPECT_EQ(r, 1);

  // try_push hands to a waiting pop.
  auto popper = [](Popper<std::string>* p, std::optional<std::string>* out) -> Task<void> {
    *out = co_await p->pop();
  };
  std::optional<std::string> out;
  auto u = ex.spawn(popper(&pop, &out));
  ex.run();
  std::string w = "world";
  EXPECT_TRUE(push.try_push(std::move(w)));
  ex.run();
  ASSERT_TRUE(out.has_value());
  EXPECT_EQ(*out, "world");
}

TEST(Handoff, ClosingEnds) {
  ManualExecutor ex;
  Handoff<Box> h;
  {
    auto ends = h.split();
    std::optional<Box> got = std::make_unique<int>(0);
    int done = 0;
    auto p = ex.spawn(pop_one(&ends.popper, &got, &done));
    ex.run();
    ends.pusher = Pusher<Box>();  // the waiting pop ends empty
    ex.run();
    EXPECT_EQ(done, 1);
    EXPECT_FALSE(got.has_value());
    // A pop after the Pusher is gone completes at once.
    done = 0;
    auto p2 = ex.spawn(pop_one(&ends.popper, &got, &done));
    ex.run();
    EXPECT_EQ(done, 1);
  }
  {
    auto ends = h.split();  // allowed again: the previous ends are gone
    Box v = std::make_unique<int>(4);
    int result = -1;
    auto q = ex.spawn(push_one(&ends.pusher, &v, &result));
    ex.run();
    ends.popper = Popper<Box>();
    ex.run();
    EXPECT_EQ(result, 0);
    ASSERT_TRUE(v);
    Box w = std::make_unique<int>(5);
    auto q2 = ex.spawn(push_one(&ends.pusher, &w, &result));
    result = -1;
    ex.run();
    EXPECT_EQ(result, 0);
    EXPECT_TRUE(w);
  }
}

Task<void> void_pusher(Pusher<void>* p, int n, int* pushed) {
  for (int i = 0; i < n; ++i) {
    if (!co_await p->push()) co_return;
    ++*pushed;
  }
}
Task<void> void_popper(Popper<void>* p, int n, int* popped) {
  for (int i = 0; i < n; ++i) {
    if (!co_await p->pop()) co_return;
    ++*popped;
  }
}

TEST(Handoff, VoidRendezvous) {
  ManualExecutor ex;
  Handoff<void> h;
  auto [push, pop] = h.split();
  int pushed = 0, popped = 0;
  auto a = ex.spawn(void_pusher(&push, 100, &pushed));
  auto b = ex.spawn(void_popper(&pop, 100, &popped));
  ex.run();
  EXPECT_EQ(pushed, 100);
  EXPECT_EQ(popped, 100);
  EXPECT_FALSE(push.try_push());
  EXPECT_FALSE(pop.try_pop());
  static_assert(sizeof(Handoff<int>) <= 2 * sizeof(void*) || executor::sync::detail::kDebugChecks);
}

// Randomized model test. One pushing task and one popping task run; a random scheduler
// interleaves them, randomly cancels them at their suspension points and restarts them. The
// values wait in `pending` (outside the frames, as the docs advise), so a cancelled push leaves
// its value there, and a moved-from entry means a popper took it. Reference model: the values
// received followed by the values still pending are exactly 0..total-1, each once, in order.
struct ModelState {
  Pusher<Box>* push;
  Popper<Box>* pop;
  std::deque<Box> pending;
  std::vector<int> received;
};

Task<void> model_pusher(ModelState* st) {
  while (!st->pending.empty()) {
    if (!st->pending.front()) {  // taken by a popper during an earlier, cancelled push
      st->pending.pop_front();
      continue;
    }
    bool ok = co_await st->push->push(std::move(st->pending.front()));
    if (!ok) co_return;
    st->pending.pop_front();
  }
}
Task<void> model_popper(ModelState* st, int n) {
  for (int i = 0; i < n; ++i) {
    std::optional<Box> r = co_await st->pop->pop();
    if (!r) co_return;
    st->received.push_back(**r);
  }
}

TEST(Handoff, RandomizedModel) {
  for (std::uint64_t seed = 1; seed <= 300; ++seed) {
    std::mt19937_64 rng(seed);
    ManualExecutor ex;
    ex.randomize(seed);
    Handoff<Box> h;
    auto [push, pop] = h.split();
    ModelState st{&push, &pop, {}, {}};
    const int total = 20;
    for (int i = 0; i < total; ++i) st.pending.push_back(std::make_unique<int>(i));
    JoinHandle<void> a, b;
    for (int round = 0; round < 400 && st.received.size() < total; ++round) {
      if (!a.valid() || a.is_finished()) a = ex.spawn(model_pusher(&st));
      if (!b.valid() || b.is_finished()) b = ex.spawn(model_popper(&st, 3));
      int steps = static_cast<int>(rng() % 4);
      for (int s = 0; s < steps; ++s) ex.run_one();
      // Cancel one side at most, then let the other side settle before the next cancel: if both
      // are destroyed between a hand-over and the popper's resumption the value is destroyed
      // with the popper's frame, as documented (BothSidesDestroyedAfterDelivery covers it).
      bool cancelled = true;
      switch (rng() % 6) {
        case 0:
          a.abort_for_combinator();
          break;
        case 1:
          b.abort_for_combinator();
          break;
        default:
          cancelled = false;
          break;
      }
      bool quiescent = cancelled || rng() % 3 == 0;
      if (quiescent) ex.run();
      std::vector<int> all = st.received;
      for (const Box& v : st.pending) {
        if (v) all.push_back(*v);
      }
      // Always: no duplicate, order kept. Once every runnable task has run, no value can be in
      // flight (held by a pop that has not resumed), so nothing may be missing either.
      for (std::size_t i = 1; i < all.size(); ++i) ASSERT_LT(all[i - 1], all[i]) << seed;
      if (quiescent) {
        ASSERT_EQ(all.size(), static_cast<std::size_t>(total)) << "seed " << seed;
        for (int i = 0; i < total; ++i) ASSERT_EQ(all[i], i) << "seed " << seed;
      }
    }
    EXPECT_EQ(st.received.size(), static_cast<std::size_t>(total)) << "seed " << seed;
    a.abort_for_combinator();
    b.abort_for_combinator();
    ex.run();
  }
}

#if !defined(NDEBUG) && !defined(EXECUTOR_TSAN)
TEST(HandoffDeathTest, SecondSplitIsAClearError) {
  Handoff<int> h;
  auto ends = h.split();
  EXPECT_DEATH((void)h.split(), "split\\(\\) while its ends are alive");
}
TEST(HandoffDeathTest, UseFromASecondThreadIsCaughtInDebugBuilds) {
  Handoff<int> h;
  auto ends = h.split();
  EXPECT_FALSE(ends.popper.try_pop().has_value());
  EXPECT_DEATH(std::thread([&] { (void)ends.popper.try_pop(); }).join(), "two threads");
}
#endif

// On a real runtime with one worker (Handoff is single-threaded by design).
TEST(Handoff, SingleWorkerRuntimePingPong) {
  executor::Runtime rt({.workers = 1});
  auto body = []() -> Task<int> {
    Handoff<int> a, b;
    auto [a_push, a_pop] = a.split();
    auto [b_push, b_pop] = b.split();
    int last = -1;
    JoinHandle<void> t2 = executor::spawn(pong(&a_pop, &b_push));
    co_await ping(&a_push, &b_pop, 10000, &last);
    a_push = Pusher<int>();
    co_await std::move(t2);
    co_return last;
  };
  EXPECT_EQ(rt.block_on(body()), 10999);
}

}  // namespace
