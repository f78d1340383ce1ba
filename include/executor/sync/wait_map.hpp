// executor::sync::WaitMap<K, V>: tasks wait for a value addressed to a key (request/response
// correlation: wait on a request id, the reader of responses wakes it with the response).
//
//   executor::sync::WaitMap<std::uint64_t, Response> pending;
//   // requester:                                   // response reader:
//   auto r = co_await pending.wait(id);              auto out = pending.wake(id, std::move(resp));
//   if (r) use(*r);                                  if (!out.woke()) log_unmatched(*out.value);
//
// Design
// ------
// A fixed array of buckets (`Buckets`, no allocation) of intrusive doubly-linked lists of
// waiters; each waiter is a node inside its awaiting frame holding the key, the waker and a slot
// for the value. One Lock (sync/detail/lock.hpp) guards the buckets, every node's state and the
// closed flag. Waiter states, with the function that performs each transition (all under the
// lock):
//
//   NEW --await_suspend--> WAITING --wake--> WOKEN (value moved into the node, node unlinked)
//    |                        |------close--> CLOSED (unlinked)
//    |                        '--~WaitOperation (frame destroyed)--> unlinked, waker dropped
//    '--await_suspend, closed / key taken--> CLOSED / DUPLICATE (never suspends)
//
// wake() and close() unlink the nodes and move their wakers out under the lock, and wake them
// after unlocking; the tasks resume later on a worker. After a waker is moved out the waking
// thread never touches the node again, so a frame destroyed right after may go away safely.
//
// Thread safety: every member may be called from any thread (and from interrupt handlers on
// single-core ports, where the lock is a critical section).
// Memory ordering: everything the waking thread wrote before wake() is visible to the waiter
// once wait() yields the value.
// Cancellation: destroying a coroutine suspended in wait() unlinks it (the key is free again).
// If it is destroyed after wake() delivered its value but before it resumed, that value is
// destroyed with the frame (wake() reported Woke).
// Errors: wait() yields WaitError::kClosed after close(), WaitError::kDuplicate when the key is
// already waited on. wake() reports NoMatch / Closed and gives the value back.
// Lifetime: the map must outlive its waits (destroying it with waiters is a fatal error); use
// wait_owned() with a std::shared_ptr when a wait may outlive the map's owner.
// Complexity: wait/wake are O(1) expected, O(waiters in the bucket) worst case.
#pragma once

#include <coroutine>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>

#include <executor/detail/task_header.hpp>
#include <executor/sync/detail/lock.hpp>
#include <executor/sync/detail/waiter_list.hpp>
#include <executor/sync/detail/wake_batch.hpp>
#include <executor/sync/result.hpp>

namespace executor::sync {

enum class WaitError : unsigned char {
  kClosed,     // the map was closed (before or during the wait)
  kDuplicate,  // another task already waits on this key
};

enum class WakeKind : unsigned char { kWoke, kNoMatch, kClosed };

// What wake() did. `value` holds the value given back unless a waiter received it.
template <class V>
struct [[nodiscard]] WakeOutcome {
  WakeKind kind;
  std::optional<V> value;
  bool woke() const noexcept { return kind == WakeKind::kWoke; }
};

template <class K, class V, std::size_t Buckets = 64, class Hash = std::hash<K>,
          class KeyEqual = std::equal_to<K>>
class WaitMap;

template <class Map, class MapRef>
class WaitOperation;

template <class K, class V, std::size_t Buckets, class Hash, class KeyEqual>
class WaitMap {
  static_assert(Buckets > 0, "WaitMap needs at least one bucket");

 public:
  using key_type = K;
  using mapped_type = V;

  WaitMap() noexcept(std::is_nothrow_default_constructible_v<Hash>&&
                         std::is_nothrow_default_constructible_v<KeyEqual>) = default;
  WaitMap(const WaitMap&) = delete;
  WaitMap& operator=(const WaitMap&) = delete;
  ~WaitMap() {
    if (waiters_ != 0)
      executor::detail::fatal("executor::sync::WaitMap destroyed while tasks wait");
  }

  // Waits until wake(key, v) delivers v. Result: the value, or kClosed / kDuplicate.
  [[nodiscard]] WaitOperation<WaitMap, WaitMap*> wait(K key) {
    return WaitOperation<WaitMap, WaitMap*>(this, std::move(key));
  }

  // Delivers `value` to the task waiting on `key` and wakes it (after unlocking).
  WakeOutcome<V> wake(const K& key, V value) {
    executor::detail::Waker w;
    {
      detail::LockGuard g(lock_);
      if (closed_) return WakeOutcome<V>{WakeKind::kClosed, std::optional<V>(std::move(value))};
      Node* n = find(bucket(key), key);
      if (n == nullptr) {
        return WakeOutcome<V>{WakeKind::kNoMatch, std::optional<V>(std::move(value))};
      }
      bucket(key).remove(n);
      --waiters_;
      n->value.emplace(std::move(value));
      n->state = Node::kWoken;
      w = std::move(n->waker);
    }
    w.wake();
    return WakeOutcome<V>{WakeKind::kWoke, std::nullopt};
  }

  // Fails every current and future wait with kClosed (waking the current ones after
  // unlocking, in batches). Idempotent.
  void close() noexcept {
    detail::WakeBatch batch;
    for (bool more = true; more;) {
      {
        detail::LockGuard g(lock_);
        closed_ = true;
        more = false;
        for (detail::WaiterList& b : buckets_) {
          while (!b.empty() && !batch.full()) {
            Node* n = static_cast<Node*>(b.pop_front());
            --waiters_;
            n->state = Node::kClosed;
            batch.add(std::move(n->waker));
          }
          if (!b.empty()) {
            more = true;
            break;
          }
        }
      }
      batch.wake_all();
    }
  }

  bool is_closed() const noexcept {
    detail::LockGuard g(lock_);
    return closed_;
  }
  // Tasks currently waiting.
  std::size_t waiting() const noexcept {
    detail::LockGuard g(lock_);
    return waiters_;
  }

 private:
  template <class, class>
  friend class WaitOperation;

  struct Node : detail::ListNode {
    enum State : unsigned char { kNew, kWaiting, kWoken, kClosed, kDuplicate };
    explicit Node(K k) : key(std::move(k)) {}
    K key;
    executor::detail::Waker waker;
    std::optional<V> value;
    State state = kNew;
  };

  detail::WaiterList& bucket(const K& key) noexcept { return buckets_[hash_(key) % Buckets]; }
  Node* find(detail::WaiterList& b, const K& key) noexcept {
    for (detail::ListNode* p = b.front(); p != nullptr; p = p->next) {
      Node* n = static_cast<Node*>(p);
      if (eq_(n->key, key)) return n;
    }
    return nullptr;
  }

  mutable detail::Lock lock_;
  bool closed_ = false;
  std::size_t waiters_ = 0;
  detail::WaiterList buckets_[Buckets];
  [[no_unique_address]] Hash hash_;
  [[no_unique_address]] KeyEqual eq_;
};

// The awaiter of WaitMap::wait() and wait_owned(). Non-movable once awaited; lives in the
// awaiting frame and is the map's waiter node. `MapRef` is `Map*` (wait) or
// `std::shared_ptr<Map>` (wait_owned, which keeps the map alive for the wait).
template <class Map, class MapRef>
class WaitOperation : private Map::Node {
  using Node = typename Map::Node;
  using K = typename Map::key_type;
  using V = typename Map::mapped_type;

 public:
  using result_type = Result<V, WaitError>;

  WaitOperation(MapRef map, K key) : Node(std::move(key)), map_(std::move(map)) {}
  WaitOperation(WaitOperation&& o) : Node(std::move(o.key)), map_(std::move(o.map_)) {
    if (o.state != Node::kNew) executor::detail::fatal("WaitMap: moving an awaited operation");
  }
  WaitOperation& operator=(WaitOperation&&) = delete;
  ~WaitOperation() {
    if (!registered_) return;  // never linked, or already resumed
    Map& m = *map_;
    {
      detail::LockGuard g(m.lock_);
      if (this->state == Node::kWaiting) {  // not woken or closed meanwhile: unlink
        m.bucket(this->key).remove(this);
        --m.waiters_;
        this->state = Node::kNew;
      }
    }
    this->waker.drop();  // ours if still here; a waker taken by wake/close is theirs
  }

  bool await_ready() const noexcept { return false; }
  bool await_suspend(std::coroutine_handle<> h) {
    Map& m = *map_;
    detail::LockGuard g(m.lock_);
    if (m.closed_) {
      this->state = Node::kClosed;
      return false;
    }
    detail::WaiterList& b = m.bucket(this->key);
    if (m.find(b, this->key) != nullptr) {
      this->state = Node::kDuplicate;
      return false;
    }
    // Capturing the waker under the lock is fine: it only takes a reference on our own task.
    this->waker = executor::detail::Waker::current(h);
    this->state = Node::kWaiting;
    b.push_back(this);
    ++m.waiters_;
    registered_ = true;
    return true;
  }
  result_type await_resume() {
    // The waking thread wrote state and value under the lock before waking us; the wake's
    // release and the run's acquire make them visible without locking again.
    registered_ = false;
    switch (this->state) {
      case Node::kWoken: {
        this->state = Node::kNew;
        return result_type(std::move(*this->value));
      }
      case Node::kDuplicate:
        return WaitError::kDuplicate;
      case Node::kClosed:
        return WaitError::kClosed;
      default:
        executor::detail::fatal("WaitMap: resumed while still waiting");
    }
  }

 private:
  MapRef map_;
  bool registered_ = false;  // linked by await_suspend; only the awaiting thread touches it
};

// Like map->wait(key), but the operation holds `map` alive until it completes or is destroyed.
template <class K, class V, std::size_t B, class H, class E>
[[nodiscard]] WaitOperation<WaitMap<K, V, B, H, E>, std::shared_ptr<WaitMap<K, V, B, H, E>>>
wait_owned(std::shared_ptr<WaitMap<K, V, B, H, E>> map, K key) {
  return {std::move(map), std::move(key)};
}

}  // namespace executor::sync
