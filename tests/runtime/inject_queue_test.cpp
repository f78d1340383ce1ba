// InjectQueue (runtime/linux/inject_queue.hpp): FIFO across segments, batches of every size,
// segment reuse, the out-of-memory overflow chain, and concurrent producers and consumers (run
// under TSan) in which every task comes out exactly once and each producer's tasks in order.
#include "inject_queue.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cstddef>
#include <memory>
#include <thread>
#include <vector>

namespace {

using executor::detail::InjectQueue;
using executor::detail::TaskHeader;

std::vector<std::unique_ptr<TaskHeader>> make_tasks(std::size_t n) {
  std::vector<std::unique_ptr<TaskHeader>> v;
  for (std::size_t i = 0; i < n; ++i) {
    v.push_back(std::make_unique<TaskHeader>(nullptr));
    v.back()->id = i;
  }
  return v;
}

constexpr std::size_t kSeg = InjectQueue::kSegmentSlots;

TEST(InjectQueue, FifoAcrossSegmentsWithMixedBatchSizes) {
  auto tasks = make_tasks(5 * kSeg + 17);
  InjectQueue q;
  std::size_t next_push = 0;
  std::size_t next_pop = 0;
  TaskHeader* out[700];
  // Pushes of 1, n via push_n, and chains; pops of varying sizes; interleaved.
  for (int round = 0; next_pop < tasks.size(); ++round) {
    std::size_t k = std::min<std::size_t>(tasks.size() - next_push, (round * 389) % 1500 + 1);
    if (round % 3 == 0 && k > 0) {
      for (std::size_t i = 0; i + 1 < k; ++i) {
        tasks[next_push + i]->queue_next = tasks[next_push + i + 1].get();
      }
      q.push_chain(tasks[next_push].get(), k);
    } else if (k == 1) {
      q.push(tasks[next_push].get());
    } else {
      std::size_t base = next_push;
      q.push_n(k, [&](std::size_t i) { return tasks[base + i].get(); });
    }
    next_push += k;
    EXPECT_EQ(q.size(), next_push - next_pop);
    std::size_t want = (round * 211) % 700 + 1;
    std::size_t n = q.pop_batch(out, want);
    EXPECT_EQ(n, std::min(want, next_push - next_pop));
    for (std::size_t i = 0; i < n; ++i) ASSERT_EQ(out[i]->id, next_pop + i);
    next_pop += n;
  }
  EXPECT_EQ(q.pop_batch(out, 10), 0u);
  EXPECT_EQ(q.size(), 0u);
}

TEST(InjectQueue, RefillsAfterDrainingToEmpty) {
  auto tasks = make_tasks(3 * kSeg);
  InjectQueue q;
  TaskHeader* out[kSeg];
  for (int rep = 0; rep < 3; ++rep) {
    for (std::size_t i = 0; i < tasks.size(); ++i) q.push(tasks[i].get());
    std::size_t seen = 0;
    while (std::size_t n = q.pop_batch(out, kSeg)) {
      for (std::size_t i = 0; i < n; ++i) ASSERT_EQ(out[i]->id, seen + i);
      seen += n;
    }
    EXPECT_EQ(seen, tasks.size());
  }
}

TEST(InjectQueue, OutOfMemoryFallsBackToTheChainInOrder) {
  auto tasks = make_tasks(kSeg + 100);
  InjectQueue q;
  // The first segment is allocated; after that every allocation "fails".
  q.push_n(kSeg - 10, [&](std::size_t i) { return tasks[i].get(); });
  q.fail_allocations_for_testing();
  q.push_n(60, [&](std::size_t i) { return tasks[kSeg - 10 + i].get(); });  // 10 fit, 50 chain
  TaskHeader* out[64];
  ASSERT_EQ(q.pop_batch(out, 64), 64u);  // pops from the segment, which makes room...
  for (std::size_t i = 0; i < 64; ++i) ASSERT_EQ(out[i]->id, i);
  for (std::size_t i = kSeg + 50; i < tasks.size(); ++i) q.push(tasks[i].get());  // ...but
  // later pushes still join the chain (behind the earlier ones), so order holds.
  std::size_t next = 64;
  while (std::size_t n = q.pop_batch(out, 64)) {
    for (std::size_t i = 0; i < n; ++i) ASSERT_EQ(out[i]->id, next + i);
    next += n;
  }
  EXPECT_EQ(next, tasks.size());
  EXPECT_EQ(q.size(), 0u);
}

TEST(InjectQueue, ConcurrentProducersAndConsumersSeeEveryTaskOnceInOrder) {
  constexpr std::size_t kProducers = 3;
  constexpr std::size_t kPerProducer = 20'000;
  auto tasks = make_tasks(kProducers * kPerProducer);
  InjectQueue q;
  std::vector<std::atomic<int>> seen(tasks.size());
  std::atomic<std::size_t> taken{0};
  std::atomic<bool> order_ok{true};
  std::vector<std::thread> threads;
  for (std::size_t p = 0; p < kProducers; ++p) {
    threads.emplace_back([&, p] {
      std::size_t base = p * kPerProducer;
      for (std::size_t i = 0; i < kPerProducer;) {
        std::size_t k = std::min<std::size_t>(kPerProducer - i, 1 + (i % 300));
        q.push_n(k, [&](std::size_t j) { return tasks[base + i + j].get(); });
        i += k;
      }
    });
  }
  for (int c = 0; c < 2; ++c) {
    threads.emplace_back([&, c] {
      TaskHeader* out[128];
      std::vector<std::size_t> last(kProducers, 0);  // per producer: next id expected at least
      while (taken.load(std::memory_order_relaxed) < tasks.size()) {
        std::size_t n = q.pop_batch(out, c == 0 ? 1 : 128);
        for (std::size_t i = 0; i < n; ++i) {
          std::size_t id = out[i]->id;
          seen[id].fetch_add(1, std::memory_order_relaxed);
          std::size_t p = id / kPerProducer;
          if (id < last[p]) order_ok.store(false, std::memory_order_relaxed);
          last[p] = id + 1;
        }
        taken.fetch_add(n, std::memory_order_relaxed);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_TRUE(order_ok.load());
  for (std::size_t i = 0; i < tasks.size(); ++i) ASSERT_EQ(seen[i].load(), 1) << "task " << i;
}

}  // namespace
