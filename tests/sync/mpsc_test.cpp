// mpsc (bounded) and oneshot: ordering, back-pressure, close semantics, destruction of a
// waiting sender or receiver, a randomized model test against a reference queue, TSan stress.
#include <executor/sync/mpsc.hpp>
#include <executor/sync/oneshot.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <deque>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <executor/executor.hpp>

#include "manual_executor.hpp"

namespace {

using executor::JoinHandle;
using executor::Task;
using executor::sync::Result;
using executor::test::ManualExecutor;
namespace mpsc = executor::sync::mpsc;
namespace oneshot = executor::sync::oneshot;

using Box = std::unique_ptr<int>;

Task<void> send_box(mpsc::Sender<Box>* tx, Box* v, int* result) {
  auto r = co_await tx->send(std::move(*v));
  *result = r ? 1 : 0;
}
Task<void> recv_box(mpsc::Receiver<Box>* rx, std::vector<int>* got, int* ended, int max) {
  for (int i = 0; i < max; ++i) {
    std::optional<Box> b = co_await rx->recv();
    if (!b) {
      *ended = 1;
      co_return;
    }
    got->push_back(**b);
  }
}

TEST(Mpsc, BuffersUpToCapacityThenWaits) {
  ManualExecutor ex;
  auto [tx, rx] = mpsc::channel<Box>(2);
  std::vector<Box> vals;
  for (int i = 0; i < 4; ++i) vals.push_back(std::make_unique<int>(i));
  std::vector<int> results(4, -1);
  std::vector<JoinHandle<void>> ts;
  for (int i = 0; i < 4; ++i) {
    ts.push_back(ex.spawn(send_box(&tx, &vals[i], &results[i])));
    ex.run();
  }
  EXPECT_EQ(results, (std::vector<int>{1, 1, -1, -1}));  // two buffered, two waiting
  Box extra = std::make_unique<int>(9);
  EXPECT_EQ(tx.try_send(std::move(extra)).error(), mpsc::TrySendError::kFull);
  EXPECT_TRUE(extra);
  std::vector<int> got;
  int ended = 0;
  auto r = ex.spawn(recv_box(&rx, &got, &ended, 4));
  ex.run();
  EXPECT_EQ(got, (std::vector<int>{0, 1, 2, 3}));  // FIFO, waiting senders in order
  EXPECT_EQ(results, (std::vector<int>{1, 1, 1, 1}));
}

TEST(Mpsc, RecvEndsWhenAllSendersAreGoneAndDrained) {
  ManualExecutor ex;
  auto ch = mpsc::channel<Box>(4);
  auto tx2 = ch.sender.clone();
  std::vector<int> got;
  int ended = 0;
  auto r = ex.spawn(recv_box(&ch.receiver, &got, &ended, 100));
  ex.run();
  Box a = std::make_unique<int>(1);
  EXPECT_TRUE(ch.sender.try_send(std::move(a)));
  ch.sender = mpsc::Sender<Box>();
  ex.run();
  EXPECT_EQ(ended, 0);  // tx2 still alive
  Box b = std::make_unique<int>(2);
  EXPECT_TRUE(tx2.try_send(std::move(b)));
  tx2 = mpsc::Sender<Box>();
  ex.run();
  EXPECT_EQ(got, (std::vector<int>{1, 2}));
  EXPECT_EQ(ended, 1);
}

TEST(Mpsc, CloseFailsWaitingAndFutureSendsButKeepsBufferedItems) {
  ManualExecutor ex;
  auto [tx, rx] = mpsc::channel<Box>(1);
  Box a = std::make_unique<int>(1), b = std::make_unique<int>(2);
  int ra = -1, rb = -1;
  auto ta = ex.spawn(send_box(&tx, &a, &ra));
  auto tb = ex.spawn(send_box(&tx, &b, &rb));
  ex.run();
  EXPECT_EQ(ra, 1);
  EXPECT_EQ(rb, -1);
  rx.close();
  EXPECT_TRUE(tx.is_closed());
  ex.run();
  EXPECT_EQ(rb, 0);
  ASSERT_TRUE(b);  // untouched: still ours
  EXPECT_EQ(*b, 2);
  EXPECT_EQ(tx.try_send(std::move(b)).error(), mpsc::TrySendError::kClosed);
  std::vector<int> got;
  int ended = 0;
  auto r = ex.spawn(recv_box(&rx, &got, &ended, 10));
  ex.run();
  EXPECT_EQ(got, std::vector<int>{1});
  EXPECT_EQ(ended, 1);
}

TEST(Mpsc, DestroyWaitingSenderKeepsTheValueWithTheCaller) {
  ManualExecutor ex;
  auto [tx, rx] = mpsc::channel<Box>(1);
  Box a = std::make_unique<int>(1), b = std::make_unique<int>(2), c = std::make_unique<int>(3);
  int ra = -1, rb = -1, rc = -1;
  auto ta = ex.spawn(send_box(&tx, &a, &ra));
  auto tb = ex.spawn(send_box(&tx, &b, &rb));
  auto tc = ex.spawn(send_box(&tx, &c, &rc));
  ex.run();
  tb.abort_for_combinator();
  ex.run();
  ASSERT_TRUE(b);
  EXPECT_EQ(*b, 2);
  std::vector<int> got;
  int ended = 0;
  auto r = ex.spawn(recv_box(&rx, &got, &ended, 2));
  ex.run();
  EXPECT_EQ(got, (std::vector<int>{1, 3}));
  EXPECT_EQ(rc, 1);
}

TEST(Mpsc, DestroyWaitingReceiverLosesNothing) {
  ManualExecutor ex;
  auto [tx, rx] = mpsc::channel<Box>(2);
  std::vector<int> got;
  int ended = 0;
  auto r = ex.spawn(recv_box(&rx, &got, &ended, 1));
  ex.run();
  r.abort_for_combinator();
  ex.run();
  Box a = std::make_unique<int>(5);
  EXPECT_TRUE(tx.try_send(std::move(a)));
  EXPECT_EQ(ex.queued(), 0u);  // nobody registered any more
  // Woken, then destroyed before resuming: the item stays.
  auto r2 = ex.spawn(recv_box(&rx, &got, &ended, 2));
  ex.run();
  EXPECT_EQ(got, std::vector<int>{5});
  Box b = std::make_unique<int>(6);
  EXPECT_TRUE(tx.try_send(std::move(b)));
  r2.abort_for_combinator();
  ex.run();
  auto again = rx.try_recv();
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(**again, 6);
}

TEST(Mpsc, DroppingTheReceiverDestroysBufferedItems) {
  auto value = std::make_shared<int>(1);
  auto ch = mpsc::channel<std::shared_ptr<int>>(4);
  auto copy = value;
  EXPECT_TRUE(ch.sender.try_send(std::move(copy)));
  EXPECT_EQ(value.use_count(), 2);
  ch.receiver = mpsc::Receiver<std::shared_ptr<int>>();
  EXPECT_TRUE(ch.sender.is_closed());
  ch.sender = mpsc::Sender<std::shared_ptr<int>>();
  EXPECT_EQ(value.use_count(), 1);
}

TEST(Mpsc, ZeroCapacityIsAnError) {
  EXPECT_THROW((void)mpsc::channel<int>(0), std::invalid_argument);
}

// Randomized model test: random sends (with random cancellation of waiting ones), receives and
// closes against a reference FIFO.
TEST(Mpsc, RandomizedModel) {
  for (std::uint64_t seed = 1; seed <= 150; ++seed) {
    std::mt19937_64 rng(seed);
    ManualExecutor ex;
    const std::size_t cap = 1 + rng() % 3;
    auto [tx, rx] = mpsc::channel<Box>(cap);
    struct Send {
      Box value;
      int v = 0;
      bool expect_sent = false;
      int result = -1;
      JoinHandle<void> h;
      bool cancelled = false;
    };
    std::vector<std::unique_ptr<Send>> sends;
    std::deque<int> model_buffer;     // values in the ring
    std::deque<Send*> model_waiting;  // senders waiting for room
    bool closed = false;
    for (int step = 0; step < 150; ++step) {
      int op = static_cast<int>(rng() % 10);
      if (op < 5) {
        auto s = std::make_unique<Send>();
        int v = step;
        s->v = v;
        s->value = std::make_unique<int>(v);
        s->h = ex.spawn(send_box(&tx, &s->value, &s->result));
        ex.run();
        if (closed) {
          ASSERT_EQ(s->result, 0);
        } else if (model_buffer.size() < cap && model_waiting.empty()) {
          ASSERT_EQ(s->result, 1) << seed;
          model_buffer.push_back(v);
        } else {
          ASSERT_EQ(s->result, -1) << seed;
          model_waiting.push_back(s.get());
        }
        sends.push_back(std::move(s));
      } else if (op < 8) {
        std::optional<Box> b = rx.try_recv();
        if (model_buffer.empty()) {
          ASSERT_FALSE(b.has_value()) << seed;
        } else {
          ASSERT_TRUE(b.has_value()) << seed;
          ASSERT_EQ(**b, model_buffer.front()) << seed;
          model_buffer.pop_front();
          if (!model_waiting.empty()) {  // the first waiting sender moves into the freed slot
            model_buffer.push_back(model_waiting.front()->v);
            model_waiting.front()->expect_sent = true;
            model_waiting.pop_front();
          }
        }
        ex.run();
        for (auto& snd : sends) {
          if (snd->expect_sent) {
            ASSERT_EQ(snd->result, 1) << seed;
          }
        }
      } else if (op < 9) {
        if (model_waiting.empty()) continue;
        std::size_t k = rng() % model_waiting.size();
        Send* s = model_waiting[k];
        model_waiting.erase(model_waiting.begin() + static_cast<long>(k));
        s->cancelled = true;
        s->h.abort_for_combinator();
        ex.run();
        ASSERT_TRUE(s->value) << seed;  // the value stayed with the caller
      } else if (rng() % 4 == 0) {
        rx.close();
        closed = true;
        ex.run();
        for (Send* s : model_waiting) ASSERT_EQ(s->result, 0) << seed;
        model_waiting.clear();
      }
    }
    rx.close();  // waiting senders fail; the buffered items stay receivable
    ex.run();
    for (Send* s : model_waiting) {
      ASSERT_EQ(s->result, 0) << seed;
      ASSERT_TRUE(s->value) << seed;
    }
    while (auto b = rx.try_recv()) {
      ASSERT_FALSE(model_buffer.empty());
      EXPECT_EQ(**b, model_buffer.front()) << seed;
      model_buffer.pop_front();
    }
    EXPECT_TRUE(model_buffer.empty()) << seed;
  }
}

Task<long> mpsc_consumer(mpsc::Receiver<int>* rx) {
  long sum = 0;
  while (auto v = co_await rx->recv()) sum += *v;
  co_return sum;
}
Task<void> mpsc_producer(mpsc::Sender<int> tx, int base, int n) {
  for (int i = 0; i < n; ++i) {
    int v = base + i;
    if (!co_await tx.send(std::move(v))) co_return;
  }
}

TEST(MpscStress, ProducersAcrossWorkersAndThreads) {
  executor::Runtime rt({.workers = 2});
  auto [tx, rx] = mpsc::channel<int>(8);
  const int n = 5000;
  auto body = [](mpsc::Sender<int> tx, mpsc::Receiver<int>* rx, int n) -> Task<long> {
    for (int p = 0; p < 3; ++p) executor::spawn(mpsc_producer(tx.clone(), p * n, n)).detach();
    std::thread foreign([tx = tx.clone(), n]() mutable {
      for (int i = 0; i < n; ++i) {
        int v = 3 * n + i;
        while (!tx.try_send(std::move(v))) std::this_thread::yield();
      }
    });
    tx = mpsc::Sender<int>();
    long sum = co_await mpsc_consumer(rx);
    foreign.join();
    co_return sum;
  };
  long expected = 0;
  for (int i = 0; i < 4 * n; ++i) expected += i;
  EXPECT_EQ(rt.block_on(body(std::move(tx), &rx, n)), expected);
}

// Cancel-safety counted: every value numbered, each send bounded by a random tiny timeout (the
// timer cancels the send's child task from the completion thread, and the frame is destroyed on
// whichever worker), the consumer on another worker. A send that reports the deadline must leave
// its value with the caller (then it is sent again); every number arrives exactly once.
Task<Result<void, mpsc::SendError>> send_one(mpsc::Sender<Box>* tx, Box* v) {
  co_return co_await tx->send(std::move(*v));
}
Task<void> timed_producer(mpsc::Sender<Box> tx, int base, int n, unsigned seed,
                          std::atomic<int>* lost, std::atomic<int>* timeouts) {
  std::mt19937 rng(seed);
  for (int i = 0; i < n; ++i) {
    Box v = std::make_unique<int>(base + i);
    for (;;) {
      auto r =
          co_await executor::timeout(std::chrono::microseconds(rng() % 300), send_one(&tx, &v));
      if (r.ok()) {
        EXPECT_TRUE(r->has_value());  // the receiver outlives the producers
        break;
      }
      ++*timeouts;
      if (!v) {  // the deadline was reported, but the value is gone
        ++*lost;
        break;
      }
    }
  }
}
Task<std::vector<int>> counting_consumer(mpsc::Receiver<Box>* rx, int total) {
  std::vector<int> seen(static_cast<std::size_t>(total), 0);
  std::mt19937 rng(7);
  while (std::optional<Box> b = co_await rx->recv()) {
    ++seen[static_cast<std::size_t>(**b)];
    // Let senders queue up (and their deadlines pass while they wait, or just as they are woken).
    if (rng() % 64 == 0) {
      co_await executor::sleep(std::chrono::microseconds(rng() % 500));
    } else if (rng() % 2 == 0) {
      co_await executor::yield_now();
    }
  }
  co_return seen;
}

TEST(MpscStress, SendUnderTimeoutLosesNothing) {
  executor::Runtime rt({.workers = 2});
  constexpr int kProducers = 3, kPer = 4000;
  auto body = [](mpsc::Sender<Box> tx, mpsc::Receiver<Box>* rx) -> Task<std::vector<int>> {
    std::atomic<int> lost{0}, timeouts{0};
    std::vector<JoinHandle<void>> ps;
    for (int p = 0; p < kProducers; ++p) {
      ps.push_back(executor::spawn(timed_producer(tx.clone(), p * kPer, kPer,
                                                  static_cast<unsigned>(p + 1), &lost, &timeouts)));
    }
    tx = mpsc::Sender<Box>();  // the channel closes when the producers are done
    JoinHandle<std::vector<int>> c = executor::spawn(counting_consumer(rx, kProducers * kPer));
    for (auto& p : ps) co_await std::move(p);
    std::vector<int> seen = co_await std::move(c);
    EXPECT_EQ(lost.load(), 0) << "of " << timeouts.load() << " timeouts";
    co_return seen;
  };
  auto [tx, rx] = mpsc::channel<Box>(2);
  std::vector<int> seen = rt.block_on(body(std::move(tx), &rx));
  int missing = 0, duplicated = 0;
  for (int n : seen) {
    missing += n == 0;
    duplicated += n > 1;
  }
  EXPECT_EQ(missing, 0);
  EXPECT_EQ(duplicated, 0);
}

// --- oneshot ---------------------------------------------------------------------------------

Task<void> oneshot_recv(oneshot::Receiver<std::string>* rx, std::string* out, int* closed) {
  auto r = co_await *rx;
  if (r) {
    *out = *r;
  } else {
    *closed = 1;
  }
}

TEST(Oneshot, SendRecvAndClose) {
  ManualExecutor ex;
  {
    auto [tx, rx] = oneshot::channel<std::string>();
    std::string out;
    int closed = 0;
    auto t = ex.spawn(oneshot_recv(&rx, &out, &closed));
    ex.run();
    EXPECT_TRUE(tx.send("reply"));
    ex.run();
    EXPECT_EQ(out, "reply");
  }
  {
    auto ch = oneshot::channel<std::string>();
    std::string out;
    int closed = 0;
    auto t = ex.spawn(oneshot_recv(&ch.receiver, &out, &closed));
    ex.run();
    ch.sender = oneshot::Sender<std::string>();
    ex.run();
    EXPECT_EQ(closed, 1);
  }
  {
    auto [tx, rx] = oneshot::channel<std::string>();
    std::string out;
    int closed = 0;
    auto t = ex.spawn(oneshot_recv(&rx, &out, &closed));
    ex.run();
    t.abort_for_combinator();  // destroyed while waiting
    ex.run();
    EXPECT_TRUE(tx.send("later"));
    auto r = rx.try_recv();
    ASSERT_TRUE(r);
    EXPECT_EQ(*r, "later");
  }
}

TEST(OneshotStress, ReplyFromAnotherWorker) {
  executor::Runtime rt({.workers = 2});
  auto body = []() -> Task<int> {
    int sum = 0;
    for (int i = 0; i < 3000; ++i) {
      auto [tx, rx] = oneshot::channel<int>();
      executor::spawn(
          [](oneshot::Sender<int> tx, int v) -> Task<void> {
            tx.send(v);
            co_return;
          },
          std::move(tx), i)
          .detach();
      auto r = co_await std::move(rx);
      if (!r) co_return -1;
      sum += *r % 7;
    }
    co_return sum;
  };
  int expected = 0;
  for (int i = 0; i < 3000; ++i) expected += i % 7;
  EXPECT_EQ(rt.block_on(body()), expected);
}

}  // namespace
