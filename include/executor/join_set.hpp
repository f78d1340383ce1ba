// executor::JoinSet<T>: a set of spawned tasks, joined in the order they finish (tokio's JoinSet).
//
//   JoinSet<int> set;                                  // OnDrop::kAbort unless told otherwise
//   for (auto& url : urls) set.spawn(fetch, url);      // like executor::spawn
//   while (std::optional<Joined<int>> done = co_await set.join_next()) {
//     if (done->cancelled()) continue;                 // aborted (abort_all) before it finished
//     int v = std::move(*done).get();                  // its value; rethrows what it threw
//   }                                                  // nullopt: the set is empty
//
//   spawn(task) / spawn(f, args...)  starts a task in the set (as executor::spawn); its id
//   join_next()                      waits for the next task to finish (completion order) and
//                                    yields it as a Joined<T>; nullopt at once if the set is
//                                    empty
//   try_join_next()                  the same without waiting (nullopt: none has finished)
//   abort_all()                      asks every task still running to stop (below)
//   size() / empty()                 tasks spawned and not yet joined (running or finished)
//
// Design: each task runs inside a small wrapper task that owns a node of the set. When the task
// ends (a value, an exception, or its frame destroyed by an abort), the node's destructor-side
// guard moves the node from the set's running list to its finished list under the set's lock and
// wakes a waiting join_next() after unlocking: finishing is O(1), joining is O(1), and nothing
// ever scans the set. A server that never needs the results prunes them with
// `while (set.try_join_next()) {}` (amortised O(1) per task).
//
// Aborting: abort_all() (and the destructor with OnDrop::kAbort) cancels the tasks by destroying
// their frames at their current suspension point, by a worker, never while they run — every
// awaiter of this library unlinks itself, RAII objects in the frame are destroyed. A task that
// finished meanwhile keeps its result. This is the exception to "a spawned task always runs to
// completion" (<executor/join_handle.hpp>), which holds for tasks spawned with executor::spawn
// whose handle is dropped; a task that must not be stopped half-way (it holds state that a
// destructor cannot repair) does not belong in a set that is aborted.
//
// Destructor policy, chosen at construction:
//   OnDrop::kAbort  (default, as tokio) the tasks still running are aborted;
//   OnDrop::kDetach they run on to completion, unobserved.
// Either way the destructor does not wait, and an exception of a task nobody joins is logged to
// stderr with the task's id (like a detached task's).
//
// Thread safety: a JoinSet is used by one task at a time (spawn, join_next, abort_all, size); the
// tasks in it finish on any thread. Memory ordering: everything a task wrote happens-before its
// join_next() returns. Cancellation: a coroutine destroyed while suspended in join_next()
// withdraws its waiter and loses nothing (the finished task stays in the set). Memory: one node
// and one wrapper frame per task, one shared state per set. Errors: spawn throws like
// executor::spawn (std::logic_error without a runtime, std::bad_alloc); Joined::get() rethrows
// the task's exception, or throws executor::TaskCancelled for an aborted task.
#pragma once

#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <type_traits>
#include <utility>
#include <variant>

#include <executor/detail/task_cell.hpp>
#include <executor/detail/task_header.hpp>
#include <executor/join_handle.hpp>
#include <executor/spawn.hpp>
#include <executor/task.hpp>

namespace executor {

enum class OnDrop { kAbort, kDetach };

template <class T>
class JoinSet;

namespace detail {

template <class T>
struct JoinSetNode {
  using Value = std::conditional_t<std::is_void_v<T>, std::monostate, T>;
  // --- the owner (under the set's lock for the links) ---
  JoinSetNode* prev = nullptr;
  JoinSetNode* next = nullptr;
  JoinHandle<void> wrapper;  // to abort it; never joined
  std::uint64_t id = 0;
  // --- written by the wrapper task before its guard publishes the node (under the lock) ---
  std::optional<Value> value;
  std::exception_ptr error;
  bool finished = false;  // the task ended by itself (a value or an exception)
};

template <class T>
struct JoinSetState {
  using Node = JoinSetNode<T>;
  struct List {
    Node* head = nullptr;
    Node* tail = nullptr;
    void push_back(Node* n) noexcept {
      n->prev = tail;
      n->next = nullptr;
      (tail != nullptr ? tail->next : head) = n;
      tail = n;
    }
    void unlink(Node* n) noexcept {
      (n->prev != nullptr ? n->prev->next : head) = n->next;
      (n->next != nullptr ? n->next->prev : tail) = n->prev;
      n->prev = n->next = nullptr;
    }
    Node* pop_front() noexcept {
      Node* n = head;
      if (n != nullptr) unlink(n);
      return n;
    }
  };

  ~JoinSetState() {
    // Only finished nodes can be left: a running one holds a reference to this state.
    while (Node* n = finished.pop_front()) discard(n);
  }
  // A node nobody will join: its exception is logged, then it is freed.
  static void discard(Node* n) noexcept {
#if EXECUTOR_HAS_EXCEPTIONS
    if (n->error) report_unobserved_exception(n->id, n->error);
#endif
    delete n;
  }

  std::mutex lock;
  // --- under `lock` ---
  List running;
  List finished;
  Waker waiter;             // the task waiting in join_next()
  bool owner_gone = false;  // the JoinSet was destroyed: finished nodes are discarded
};

// Owned by the wrapper task's frame (a parameter, so it is destroyed even if the task is aborted
// before it first runs): publishes the node as finished when the frame goes.
template <class T>
class JoinSetGuard {
 public:
  JoinSetGuard(std::shared_ptr<JoinSetState<T>> st, JoinSetNode<T>* n) noexcept
      : st_(std::move(st)), n_(n) {}
  JoinSetGuard(JoinSetGuard&& o) noexcept
      : st_(std::move(o.st_)), n_(std::exchange(o.n_, nullptr)) {}
  JoinSetGuard(const JoinSetGuard&) = delete;
  JoinSetGuard& operator=(const JoinSetGuard&) = delete;
  ~JoinSetGuard() {
    if (n_ == nullptr) return;
    Waker w;
    bool discard = false;
    {
      std::lock_guard<std::mutex> g(st_->lock);
      st_->running.unlink(n_);
      if (st_->owner_gone) {
        discard = true;
      } else {
        st_->finished.push_back(n_);
        w = std::move(st_->waiter);
      }
    }
    // After unlocking: the owner may free the node as soon as it is on the finished list.
    if (discard) JoinSetState<T>::discard(n_);
    if (w.valid()) w.wake();
  }
  JoinSetNode<T>* node() const noexcept { return n_; }

 private:
  std::shared_ptr<JoinSetState<T>> st_;
  JoinSetNode<T>* n_;
};

template <class T>
Task<void> join_set_child(JoinSetGuard<T> guard, Task<T> task) {
  JoinSetNode<T>* n = guard.node();
#if EXECUTOR_HAS_EXCEPTIONS
  try {
#endif
    if constexpr (std::is_void_v<T>) {
      co_await std::move(task);
      n->value.emplace();
    } else {
      n->value.emplace(co_await std::move(task));
    }
#if EXECUTOR_HAS_EXCEPTIONS
  } catch (...) {
    n->error = std::current_exception();
  }
#endif
  n->finished = true;
}

}  // namespace detail

// One finished task of a JoinSet.
template <class T>
class Joined {
 public:
  Joined(Joined&&) noexcept = default;
  Joined& operator=(Joined&&) noexcept = default;

  // The task's id (as JoinHandle::id()).
  std::uint64_t id() const noexcept { return node_->id; }
  // Aborted before it finished (get() throws TaskCancelled).
  bool cancelled() const noexcept { return !node_->finished; }
  // It threw (get() rethrows).
  bool failed() const noexcept { return node_->error != nullptr; }
  // The value (nothing for void); rethrows the task's exception; TaskCancelled if aborted.
  T get() && {
#if EXECUTOR_HAS_EXCEPTIONS
    if (node_->error) std::rethrow_exception(node_->error);
    if (!node_->finished) throw TaskCancelled();
#else
    if (!node_->finished) __builtin_trap();
#endif
    if constexpr (!std::is_void_v<T>) return std::move(*node_->value);
  }

 private:
  friend class JoinSet<T>;
  explicit Joined(detail::JoinSetNode<T>* n) noexcept : node_(n) {}
  std::unique_ptr<detail::JoinSetNode<T>> node_;
};

template <class T = void>
class JoinSet {
  using State = detail::JoinSetState<T>;
  using Node = detail::JoinSetNode<T>;

 public:
  explicit JoinSet(OnDrop on_drop = OnDrop::kAbort)
      : st_(std::make_shared<State>()), on_drop_(on_drop) {}
  JoinSet(JoinSet&& o) noexcept
      : st_(std::move(o.st_)), on_drop_(o.on_drop_), size_(std::exchange(o.size_, 0)) {}
  JoinSet& operator=(JoinSet&&) = delete;
  JoinSet(const JoinSet&) = delete;
  JoinSet& operator=(const JoinSet&) = delete;
  ~JoinSet() {
    if (st_ == nullptr) return;
    typename State::List finished;
    {
      std::lock_guard<std::mutex> g(st_->lock);
      st_->owner_gone = true;
      if (on_drop_ == OnDrop::kAbort) {
        for (Node* n = st_->running.head; n != nullptr; n = n->next) {
          n->wrapper.abort_for_combinator();
        }
      }
      finished = std::exchange(st_->finished, {});
    }
    while (Node* n = finished.pop_front()) State::discard(n);
  }

  // Starts `task` in the set, as executor::spawn does. Returns its id.
  std::uint64_t spawn(Task<T> task) {
    auto node = std::make_unique<Node>();
    Node* n = node.get();
    {
      std::lock_guard<std::mutex> g(st_->lock);
      st_->running.push_back(n);
    }
    node.release();  // owned by the lists from here on
#if EXECUTOR_HAS_EXCEPTIONS
    try {
#endif
      n->wrapper = executor::spawn(
          detail::join_set_child<T>(detail::JoinSetGuard<T>(st_, n), std::move(task)));
#if EXECUTOR_HAS_EXCEPTIONS
    } catch (...) {
      // The guard (in the destroyed frame, or the argument if no frame was made) has moved the
      // node to the finished list: take it back, it never was a task.
      {
        std::lock_guard<std::mutex> g(st_->lock);
        st_->finished.unlink(n);
      }
      delete n;
      throw;
    }
#endif
    n->id = n->wrapper.id();
    ++size_;
    return n->id;
  }
  template <class F, class... Args>
  requires(!detail::is_task_v<std::decay_t<F>>) std::uint64_t spawn(F&& f, Args&&... args) {
    return spawn(detail::invoke_task(std::decay_t<F>(std::forward<F>(f)),
                                     std::decay_t<Args>(std::forward<Args>(args))...));
  }

  class JoinNextAwaiter;
  [[nodiscard]] JoinNextAwaiter join_next() noexcept {
    return JoinNextAwaiter(this);
  }

  std::optional<Joined<T>> try_join_next() {
    Node* n;
    {
      std::lock_guard<std::mutex> g(st_->lock);
      n = st_->finished.pop_front();
    }
    if (n == nullptr) return std::nullopt;
    --size_;
    return Joined<T>(n);
  }

  // Asks every task still running to stop: each is cancelled at its current suspension point
  // (or finishes first) and then comes out of join_next() as cancelled() (or with its result).
  void abort_all() noexcept {
    std::lock_guard<std::mutex> g(st_->lock);
    for (Node* n = st_->running.head; n != nullptr; n = n->next) {
      n->wrapper.abort_for_combinator();
    }
  }

  std::size_t size() const noexcept {
    return size_;
  }
  bool empty() const noexcept {
    return size_ == 0;
  }

  class JoinNextAwaiter {
   public:
    JoinNextAwaiter(JoinNextAwaiter&& o) noexcept : set_(std::exchange(o.set_, nullptr)) {}
    JoinNextAwaiter(const JoinNextAwaiter&) = delete;
    JoinNextAwaiter& operator=(const JoinNextAwaiter&) = delete;
    ~JoinNextAwaiter() {
      if (registered_) {
        std::lock_guard<std::mutex> g(set_->st_->lock);
        set_->st_->waiter.drop();
      }
    }

    bool await_ready() const noexcept { return set_->size_ == 0; }
    bool await_suspend(std::coroutine_handle<> h) {
      State& st = *set_->st_;
      std::lock_guard<std::mutex> g(st.lock);
      if (st.finished.head != nullptr) return false;
      st.waiter = detail::Waker::current(h);
      registered_ = true;
      return true;
    }
    std::optional<Joined<T>> await_resume() {
      if (registered_) {
        std::lock_guard<std::mutex> g(set_->st_->lock);
        set_->st_->waiter.drop();  // taken by the guard that woke us (then this is a no-op)
        registered_ = false;
      }
      if (set_->size_ == 0) return std::nullopt;
      return set_->try_join_next();
    }

   private:
    friend JoinSet;
    explicit JoinNextAwaiter(JoinSet* s) noexcept : set_(s) {}
    JoinSet* set_;
    bool registered_ = false;
  };

 private:
  std::shared_ptr<State> st_;
  OnDrop on_drop_;
  std::size_t size_ = 0;  // spawned and not yet joined; the owner's only
};

}  // namespace executor
