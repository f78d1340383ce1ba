// LocalQueue (runtime/linux/local_queue.hpp): the owner's FIFO, overflow of half the queue into
// the inject queue, steal-half, and a concurrent owner-versus-thieves stress (run under TSan)
// in which every task must come out exactly once.
#include "local_queue.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cstddef>
#include <memory>
#include <thread>
#include <vector>

#include "inject_queue.hpp"

namespace {

using executor::detail::InjectQueue;
using executor::detail::LocalQueue;
using executor::detail::TaskHeader;

std::vector<std::unique_ptr<TaskHeader>> make_tasks(std::size_t n) {
  std::vector<std::unique_ptr<TaskHeader>> v;
  for (std::size_t i = 0; i < n; ++i) {
    v.push_back(std::make_unique<TaskHeader>(nullptr));
    v.back()->id = i;
  }
  return v;
}

std::size_t drain_inject(InjectQueue& q, std::vector<int>& seen) {
  std::size_t total = 0;
  TaskHeader* batch[1024];
  while (std::size_t n = q.pop_batch(batch, 1024)) {
    for (std::size_t i = 0; i < n; ++i) ++seen[batch[i]->id];
    total += n;
  }
  return total;
}

TEST(LocalQueue, OwnerPopsInFifoOrder) {
  LocalQueue q;
  InjectQueue inject;
  auto tasks = make_tasks(LocalQueue::kCapacity);
  for (auto& t : tasks) q.push_back(t.get(), inject);
  EXPECT_EQ(inject.size(), 0u);
  for (auto& t : tasks) EXPECT_EQ(q.pop(), t.get());
  EXPECT_EQ(q.pop(), nullptr);
  EXPECT_TRUE(q.empty());
}

TEST(LocalQueue, OverflowMovesHalfAndTheNewTaskToTheInjectQueue) {
  LocalQueue q;
  InjectQueue inject;
  auto tasks = make_tasks(LocalQueue::kCapacity + 1);
  for (auto& t : tasks) q.push_back(t.get(), inject);
  EXPECT_EQ(inject.size(), LocalQueue::kCapacity / 2 + 1);
  std::vector<int> seen(tasks.size(), 0);
  std::size_t local = 0;
  while (TaskHeader* t = q.pop()) {
    ++seen[t->id];
    ++local;
  }
  EXPECT_EQ(local, LocalQueue::kCapacity / 2);
  EXPECT_EQ(drain_inject(inject, seen), LocalQueue::kCapacity / 2 + 1);
  for (int s : seen) EXPECT_EQ(s, 1);
}

TEST(LocalQueue, StealTakesHalf) {
  LocalQueue victim;
  LocalQueue thief;
  InjectQueue inject;
  auto tasks = make_tasks(101);
  for (auto& t : tasks) victim.push_back(t.get(), inject);
  TaskHeader* first = victim.steal_into(thief);
  ASSERT_NE(first, nullptr);
  std::size_t stolen = 1;
  while (thief.pop() != nullptr) ++stolen;
  EXPECT_EQ(stolen, 51u);  // ceil(101 / 2)
  std::size_t left = 0;
  while (victim.pop() != nullptr) ++left;
  EXPECT_EQ(left, 50u);
}

// The owner pushes (overflowing now and then) and pops; two thieves steal into their own
// queues. Bounded by task count, not time.
TEST(LocalQueue, ConcurrentOwnerAndThievesSeeEveryTaskOnce) {
  constexpr std::size_t kTasks = 200'000;
  auto tasks = make_tasks(kTasks);
  std::vector<std::atomic<int>> seen(kTasks);
  LocalQueue owner;
  InjectQueue inject;
  std::atomic<bool> done{false};
  std::atomic<std::size_t> taken{0};
  auto take = [&](TaskHeader* t) {
    seen[t->id].fetch_add(1, std::memory_order_relaxed);
    taken.fetch_add(1, std::memory_order_relaxed);
  };
  std::vector<std::thread> thieves;
  for (int k = 0; k < 2; ++k) {
    thieves.emplace_back([&] {
      LocalQueue mine;
      while (!done.load(std::memory_order_acquire)) {
        if (TaskHeader* t = owner.steal_into(mine)) {
          take(t);
          while (TaskHeader* u = mine.pop()) take(u);
        } else {
          std::this_thread::yield();
        }
      }
    });
  }
  for (std::size_t i = 0; i < kTasks; ++i) {
    owner.push_back(tasks[i].get(), inject);
    if (i % 3 == 0) {
      if (TaskHeader* t = owner.pop()) take(t);
    }
  }
  while (TaskHeader* t = owner.pop()) take(t);
  done.store(true, std::memory_order_release);
  for (auto& th : thieves) th.join();
  std::vector<int> from_inject(kTasks, 0);
  std::size_t injected = drain_inject(inject, from_inject);
  EXPECT_EQ(taken.load() + injected, kTasks);
  for (std::size_t i = 0; i < kTasks; ++i) {
    ASSERT_EQ(seen[i].load() + from_inject[i], 1) << "task " << i;
  }
}

}  // namespace
