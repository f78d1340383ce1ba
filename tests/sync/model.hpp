// A small interleaving explorer in the spirit of Rust's loom, for the lock-free code of sync/.
//
// The code under test is instantiated with `model::Atomics` (see sync/detail/atomic.hpp): every
// atomic access first calls a scheduling point. Each logical thread is a real std::thread, but
// only one runs at a time (a baton under a mutex), and at every scheduling point the explorer
// chooses which thread runs next. `explore()` enumerates the choices depth-first, so every
// interleaving of the atomic accesses is run once (bounded by `max_executions`); `random()`
// picks them with a seeded generator. A thread can block until a `model::Waker` wakes it; if
// every unfinished thread is blocked the execution fails with "lost wake-up".
//
// Limits: executions are sequentially consistent (weaker orderings are checked by TSan stress
// tests, not here), and every access is a scheduling point regardless of its order.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace executor::test::model {

class Explorer;
inline thread_local Explorer* tl_explorer = nullptr;
inline thread_local int tl_thread = -1;

struct Execution {
  std::vector<std::function<void()>> threads;
  std::function<void()> check;  // after all threads finished (use gtest assertions)
};

class Explorer {
 public:
  // Runs every interleaving (up to max_executions). Returns the number of executions; sets
  // `complete` if the space was exhausted.
  std::size_t explore(const std::function<Execution()>& make, std::size_t max_executions,
                      bool* complete = nullptr) {
    prefix_.clear();
    random_ = false;
    std::size_t n = 0;
    for (;;) {
      run_one(make());
      ++n;
      if (failed_) break;
      // Backtrack: advance the deepest choice that has another option.
      while (!prefix_.empty() && prefix_.back().first + 1 >= prefix_.back().second) {
        prefix_.pop_back();
      }
      if (prefix_.empty()) {
        if (complete) *complete = true;
        return n;
      }
      if (n >= max_executions) break;
      ++prefix_.back().first;
    }
    if (complete) *complete = false;
    return n;
  }

  // Runs `runs` random interleavings.
  void random(const std::function<Execution()>& make, std::size_t runs, std::uint64_t seed) {
    random_ = true;
    rng_.seed(seed);
    for (std::size_t i = 0; i < runs && !failed_; ++i) run_one(make());
  }

  bool failed() const { return failed_; }
  const std::string& failure() const { return failure_; }

  // --- called from the threads under test ---

  // A scheduling point: maybe let another thread run first.
  void point() {
    std::unique_lock lock(mu_);
    switch_locked(lock, tl_thread);
  }
  // Blocks the calling thread until a model::Waker made for it is woken. A wake that arrives
  // while the thread is not blocked is ignored (like a stale Waker in the runtime).
  void block() { block_for(kOnWaker); }
  void wake(int id) {
    std::lock_guard lock(mu_);
    if (blocked_[id] == kOnWaker) blocked_[id] = kNone;
  }
  // Test-level coordination with permit semantics: signal(id) before wait_signal() is kept.
  void wait_signal() {
    {
      std::lock_guard lock(mu_);
      if (permits_[tl_thread]) {
        permits_[tl_thread] = false;
        return;
      }
    }
    block_for(kOnSignal);
  }
  void signal(int id) {
    std::lock_guard lock(mu_);
    if (blocked_[id] == kOnSignal) {
      blocked_[id] = kNone;
    } else {
      permits_[id] = true;
    }
  }

 private:
  void run_one(Execution ex) {
    const int n = static_cast<int>(ex.threads.size());
    depth_ = 0;
    done_.assign(n, false);
    blocked_.assign(n, kNone);
    permits_.assign(n, false);
    current_ = -1;
    std::vector<std::thread> threads;
    threads.reserve(n);
    for (int i = 0; i < n; ++i) {
      threads.emplace_back([this, i, body = ex.threads[i]] {
        tl_explorer = this;
        tl_thread = i;
        {
          std::unique_lock lock(mu_);
          cv_.wait(lock, [&] { return current_ == i || failed_; });
          if (failed_) {
            done_[i] = true;
            return;
          }
        }
        body();
        std::unique_lock lock(mu_);
        done_[i] = true;
        hand_over_locked(lock, i);
      });
    }
    {
      std::unique_lock lock(mu_);
      int first = choose_locked();
      current_ = first;
      cv_.notify_all();
      cv_.wait(lock, [&] { return current_ == kFinished; });
    }
    for (auto& t : threads) t.join();
    if (!failed_ && ex.check) ex.check();
  }

  static constexpr int kFinished = -2;

  // Runnable threads, in index order.
  std::vector<int> runnable_locked() const {
    std::vector<int> r;
    for (int i = 0; i < static_cast<int>(done_.size()); ++i) {
      if (!done_[i] && blocked_[i] == kNone) r.push_back(i);
    }
    return r;
  }

  int choose_locked() {
    std::vector<int> r = runnable_locked();
    if (r.empty()) return -1;
    if (r.size() == 1) return r[0];
    std::size_t k;
    if (random_) {
      k = std::uniform_int_distribution<std::size_t>(0, r.size() - 1)(rng_);
    } else if (depth_ < prefix_.size()) {
      k = prefix_[depth_].first;
      if (k >= r.size()) k = r.size() - 1;  // defensive: the program is deterministic
    } else {
      prefix_.emplace_back(0, r.size());
      k = 0;
    }
    ++depth_;
    return r[k];
  }

  // The running thread `me` reached a point: pick the next thread and wait for our turn.
  void switch_locked(std::unique_lock<std::mutex>& lock, int me) {
    int next = choose_locked();
    if (next < 0) {
      fail_locked("lost wake-up: every unfinished thread is blocked");
      return;
    }
    if (next != me) {
      current_ = next;
      cv_.notify_all();
      cv_.wait(lock, [&] { return current_ == me || failed_; });
    }
  }

  void hand_over_locked(std::unique_lock<std::mutex>& lock, int me) {
    (void)lock;
    (void)me;
    if (failed_) {
      cv_.notify_all();
      return;
    }
    bool all_done = true;
    for (bool d : done_) all_done = all_done && d;
    if (all_done) {
      current_ = kFinished;
      cv_.notify_all();
      return;
    }
    int next = choose_locked();
    if (next < 0) {
      fail_locked("lost wake-up: every unfinished thread is blocked");
      return;
    }
    current_ = next;
    cv_.notify_all();
  }

  void fail_locked(const char* why) {
    failed_ = true;
    failure_ = why;
    // Release everyone: blocked threads give up (they see failed()), the runner finishes.
    current_ = kFinished;
    cv_.notify_all();
  }

 public:
  // Threads that block must re-check this after block() returns.
  bool failed_now() {
    std::lock_guard lock(mu_);
    return failed_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int current_ = -1;
  enum : unsigned char { kNone, kOnWaker, kOnSignal };
  void block_for(unsigned char why) {
    std::unique_lock lock(mu_);
    blocked_[tl_thread] = why;
    switch_locked(lock, tl_thread);
  }

  std::vector<bool> done_, permits_;
  std::vector<unsigned char> blocked_;
  std::vector<std::pair<std::size_t, std::size_t>> prefix_;  // (choice, options) per point
  std::size_t depth_ = 0;
  bool random_ = false;
  std::mt19937_64 rng_;
  bool failed_ = false;
  std::string failure_;
};

// The instrumented atomics policy.
struct Atomics {
  template <class T>
  class atomic {
   public:
    constexpr atomic(T v = T()) noexcept : v_(v) {}
    atomic(const atomic&) = delete;
    atomic& operator=(const atomic&) = delete;

    T load(std::memory_order o = std::memory_order_seq_cst) const {
      point();
      return v_.load(o);
    }
    void store(T v, std::memory_order o = std::memory_order_seq_cst) {
      point();
      v_.store(v, o);
    }
    T exchange(T v, std::memory_order o = std::memory_order_seq_cst) {
      point();
      return v_.exchange(v, o);
    }
    bool compare_exchange_weak(T& e, T d, std::memory_order s, std::memory_order f) {
      point();
      return v_.compare_exchange_strong(e, d, s, f);  // no spurious failures in the model
    }
    bool compare_exchange_strong(T& e, T d, std::memory_order s, std::memory_order f) {
      point();
      return v_.compare_exchange_strong(e, d, s, f);
    }
    T fetch_add(T v, std::memory_order o = std::memory_order_seq_cst) {
      point();
      return v_.fetch_add(v, o);
    }
    T fetch_sub(T v, std::memory_order o = std::memory_order_seq_cst) {
      point();
      return v_.fetch_sub(v, o);
    }
    T fetch_or(T v, std::memory_order o = std::memory_order_seq_cst) {
      point();
      return v_.fetch_or(v, o);
    }
    T fetch_and(T v, std::memory_order o = std::memory_order_seq_cst) {
      point();
      return v_.fetch_and(v, o);
    }
    T fetch_xor(T v, std::memory_order o = std::memory_order_seq_cst) {
      point();
      return v_.fetch_xor(v, o);
    }

   private:
    static void point() {
      if (tl_explorer != nullptr) tl_explorer->point();
    }
    std::atomic<T> v_;
  };

  static void spin_hint() noexcept {
    if (tl_explorer != nullptr) tl_explorer->point();
  }
};

// A waker for model threads: wake() unblocks the thread it was made for. Counts live wakers
// so tests can check none leaked and none was woken twice.
struct WakerStats {
  int created = 0;
  int woken = 0;
  int dropped = 0;
};

class Waker {
 public:
  Waker() noexcept = default;
  Waker(Explorer* ex, int thread, WakerStats* stats) noexcept
      : ex_(ex), thread_(thread), stats_(stats) {
    ++stats_->created;
  }
  Waker(Waker&& o) noexcept
      : ex_(std::exchange(o.ex_, nullptr)), thread_(o.thread_), stats_(o.stats_) {}
  Waker& operator=(Waker&& o) noexcept {
    if (this != &o) {
      drop();
      ex_ = std::exchange(o.ex_, nullptr);
      thread_ = o.thread_;
      stats_ = o.stats_;
    }
    return *this;
  }
  ~Waker() { drop(); }
  void wake() noexcept {
    if (Explorer* ex = std::exchange(ex_, nullptr)) {
      ++stats_->woken;
      ex->wake(thread_);
    }
  }
  void drop() noexcept {
    if (std::exchange(ex_, nullptr) != nullptr) ++stats_->dropped;
  }
  bool valid() const noexcept { return ex_ != nullptr; }

 private:
  Explorer* ex_ = nullptr;
  int thread_ = -1;
  WakerStats* stats_ = nullptr;
};

}  // namespace executor::test::model
