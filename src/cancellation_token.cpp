// The shared state behind executor::CancellationToken (see the design essay in
// include/executor/cancellation_token.hpp).
//
// Fields: `h.refs` — any thread, atomically; `h.cancelled` — written once under `mu`, read
// anywhere; the list, `count`, `running`, `running_thread` and every listed node's links — under
// `mu`; `parent` and `link` — immutable after cancel_state_child (the link's `linked` flag and
// list pointers are guarded by the parent's `mu`).
//
// Lock order: a state's `mu` is never held while another state's `mu` is taken, except that a
// child's creation takes only the parent's. Cancelling a child happens after the parent's lock
// is released, so trees of any shape cannot deadlock.
#include <executor/cancellation_token.hpp>

#include <chrono>
#include <cstddef>
#include <mutex>
#include <new>
#include <thread>

namespace executor::detail {

namespace {
struct StateImpl;
struct ChildLink : CancelListener {
  ChildLink() noexcept : CancelListener(Kind::kChild) {}
  StateImpl* self = nullptr;
};

struct StateImpl : CancelState {
  std::mutex mu;
  CancelListener* head = nullptr;
  CancelListener* tail = nullptr;
  std::size_t count = 0;
  CancelCallbackNode* running = nullptr;  // the callback cancel() is invoking right now
  std::thread::id running_thread;
  StateImpl* parent = nullptr;  // holds a reference on the parent
  ChildLink link;               // this state's node in the parent's list
};

StateImpl* impl(CancelState* s) noexcept {
  return static_cast<StateImpl*>(s);
}

// --- list operations: caller holds s->mu ---
void push_back(StateImpl* s, CancelListener* l) noexcept {
  l->prev = s->tail;
  l->next = nullptr;
  if (s->tail != nullptr) {
    s->tail->next = l;
  } else {
    s->head = l;
  }
  s->tail = l;
  l->linked = true;
  ++s->count;
}

void remove(StateImpl* s, CancelListener* l) noexcept {
  if (l->prev != nullptr) {
    l->prev->next = l->next;
  } else {
    s->head = l->next;
  }
  if (l->next != nullptr) {
    l->next->prev = l->prev;
  } else {
    s->tail = l->prev;
  }
  l->prev = l->next = nullptr;
  l->linked = false;
  --s->count;
}

// Takes a reference unless the count already reached zero (the state is being destroyed and
// its destructor is about to unlink it from the parent).
bool try_acquire(StateImpl* s) noexcept {
  std::uint32_t r = s->refs.load(std::memory_order_relaxed);
  while (r != 0) {
    // relaxed: the caller holds the parent's lock, which keeps the state from being freed; the
    // reference itself orders nothing (release/acquire happen on the final decrement).
    if (s->refs.compare_exchange_weak(r, r + 1, std::memory_order_relaxed)) return true;
  }
  return false;
}

// Wakers collected under the lock and woken after unlocking.
class WakeBatch {
 public:
  bool full() const noexcept { return n_ == kSize; }
  void add(Waker&& w) noexcept { wakers_[n_++] = static_cast<Waker&&>(w); }
  void wake_all() noexcept {
    for (std::size_t i = 0; i < n_; ++i) wakers_[i].wake();
    n_ = 0;
  }

 private:
  static constexpr std::size_t kSize = 16;
  Waker wakers_[kSize];
  std::size_t n_ = 0;
};

}  // namespace

CancelState* cancel_state_new() {
  return new StateImpl;
}

CancelState* cancel_state_child(CancelState* parent_state) {
  StateImpl* parent = impl(parent_state);
  auto* c = new StateImpl;
  std::lock_guard<std::mutex> lock(parent->mu);
  if (parent->cancelled.load(std::memory_order_relaxed)) {
    // relaxed store: `c` is not shared yet; returning it to the caller publishes it.
    c->cancelled.store(true, std::memory_order_relaxed);
    return c;
  }
  // relaxed: derived from the caller's reference on `parent`.
  parent->refs.fetch_add(1, std::memory_order_relaxed);
  c->parent = parent;
  c->link.self = c;
  push_back(parent, &c->link);
  return c;
}

void cancel_state_release(CancelState* state) noexcept {
  StateImpl* s = impl(state);
  // Iterative so that dropping the last handle of a deep chain of children does not recurse.
  while (s != nullptr) {
    // acq_rel: release publishes this holder's writes; acquire in the last holder sees them all
    // before the state is freed.
    if (s->refs.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
    StateImpl* parent = s->parent;
    if (parent != nullptr) cancel_state_unlink(parent, &s->link);
    delete s;
    s = parent;  // give up the child's reference on its parent
  }
}

bool cancel_state_cancel(CancelState* state) noexcept {
  StateImpl* s = impl(state);
  std::unique_lock<std::mutex> lock(s->mu);
  if (s->cancelled.load(std::memory_order_relaxed)) return false;
  // release: pairs with the acquire in is_cancelled(); the lock orders it against link().
  s->cancelled.store(true, std::memory_order_release);

  WakeBatch batch;
  while (CancelListener* l = s->head) {
    remove(s, l);
    switch (l->kind) {
      case CancelListener::Kind::kWaiter:
        batch.add(static_cast<Waker&&>(static_cast<CancelWaiter*>(l)->waker));
        if (batch.full()) {
          lock.unlock();
          batch.wake_all();
          lock.lock();
        }
        break;
      case CancelListener::Kind::kChild: {
        StateImpl* child = static_cast<ChildLink*>(l)->self;
        if (!try_acquire(child)) break;  // being destroyed; it finds itself unlinked
        lock.unlock();
        batch.wake_all();
        cancel_state_cancel(child);
        cancel_state_release(child);  // may unlink from us: we do not hold our lock
        lock.lock();
        break;
      }
      case CancelListener::Kind::kCallback: {
        auto* cb = static_cast<CancelCallbackNode*>(l);
        bool destroyed = false;
        cb->destroyed = &destroyed;
        s->running = cb;
        s->running_thread = std::this_thread::get_id();
        lock.unlock();
        batch.wake_all();
        cb->invoke(cb);
        if (!destroyed) {
          cb->destroyed = nullptr;
          // release: pairs with the acquire in cancel_state_unregister's wait; after this
          // store the node may be freed at any moment.
          cb->done.store(true, std::memory_order_release);
        }
        lock.lock();
        s->running = nullptr;
        break;
      }
    }
  }
  lock.unlock();
  batch.wake_all();
  // A cancelled child needs no notification from its parent any more: leave its list now, so
  // cancelled children that are kept around do not accumulate there either.
  if (s->parent != nullptr) cancel_state_unlink(s->parent, &s->link);
  return true;
}

bool cancel_state_link(CancelState* state, CancelListener* l) noexcept {
  StateImpl* s = impl(state);
  std::lock_guard<std::mutex> lock(s->mu);
  if (s->cancelled.load(std::memory_order_relaxed)) return false;
  push_back(s, l);
  return true;
}

bool cancel_state_unlink(CancelState* state, CancelListener* l) noexcept {
  StateImpl* s = impl(state);
  std::lock_guard<std::mutex> lock(s->mu);
  if (!l->linked) return false;
  remove(s, l);
  return true;
}

void cancel_state_unregister(CancelState* state, CancelCallbackNode* cb) noexcept {
  StateImpl* s = impl(state);
  std::unique_lock<std::mutex> lock(s->mu);
  if (cb->linked) {
    remove(s, cb);
    return;
  }
  if (s->running != cb) return;  // already ran (or never registered)
  if (s->running_thread == std::this_thread::get_id()) {
    *cb->destroyed = true;  // the callback is destroying its own registration
    return;
  }
  lock.unlock();
  // Another thread is inside the callback: wait until it returns. This is as long as the
  // callback runs, which callbacks are asked to keep short; back off to a sleep if it is not.
  for (unsigned spins = 0; !cb->done.load(std::memory_order_acquire); ++spins) {
    if (spins < 64) {
      std::this_thread::yield();
    } else {
      std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
  }
}

std::size_t cancel_state_listeners(CancelState* state) noexcept {
  StateImpl* s = impl(state);
  std::lock_guard<std::mutex> lock(s->mu);
  return s->count;
}

}  // namespace executor::detail
