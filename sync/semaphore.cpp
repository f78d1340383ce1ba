// The slow paths of executor::sync::Semaphore (see the design in sync/semaphore.hpp).
// Portable: no OS calls, no heap; compiled into libexecutor and the Cortex-M core.
#include <executor/sync/detail/wake_batch.hpp>
#include <executor/sync/semaphore.hpp>

namespace executor::sync::detail {

namespace {

// Grants permits to waiters from the front of `list` while the first one's need fits, up to
// the batch's capacity. Caller holds the lock and the list is non-empty on entry, so QUEUED is
// set and nobody else changes `state`. Returns true if the batch filled up with more grantable.
bool grant_locked(Atomic<std::uint32_t>& state, WaiterList& list, std::uint32_t extra,
                  WakeBatch& batch) noexcept {
  // acquire: `avail` counts permits returned on the fast path (release CAS in release()) before
  // QUEUED was set; the waiters granted them must see what those releasers wrote. (With relaxed,
  // a reader's release followed by a writer's grant through another reader's slow-path release
  // was a data race: RwLockStress under TSan, about 1 run in 15.)
  std::uint32_t avail = (state.load(std::memory_order_acquire) >> 1) + extra;
  if (avail > SemaphoreCore::kMaxPermits) {
    executor::detail::fatal("executor::sync::Semaphore: release past kMaxPermits");
  }
  bool more = false;
  while (!list.empty()) {
    auto* w = static_cast<SemaphoreWaiter*>(list.front());
    if (w->needed > avail) break;
    if (batch.full()) {
      more = true;
      break;
    }
    list.pop_front();
    avail -= w->needed;
    w->state = SemaphoreWaiter::kGranted;
    batch.add(std::move(w->waker));
  }
  // release: what the releaser wrote reaches later fast-path acquirers of the remaining permits
  // (the granted waiters see it through their wake).
  state.store((avail << 1) | (list.empty() ? 0u : SemaphoreCore::kQueued),
              std::memory_order_release);
  return more;
}

}  // namespace

SemaphoreCore::~SemaphoreCore() {
  if (!waiters_.empty())
    executor::detail::fatal("executor::sync::Semaphore destroyed with waiters");
}

bool SemaphoreCore::acquire_or_enqueue(SemaphoreWaiter* w, std::uint32_t n,
                                       std::coroutine_handle<> h) noexcept {
  LockGuard g(lock_);
  // relaxed: the CASes below re-check.
  std::uint32_t s = state_.load(std::memory_order_relaxed);
  for (;;) {
    if ((s & kQueued) == 0 && (s >> 1) >= n) {
      // acquire: as in try_acquire.
      if (state_.compare_exchange_weak(s, s - (n << 1), std::memory_order_acquire,
                                       std::memory_order_relaxed)) {
        return false;
      }
      continue;
    }
    if ((s & kQueued) != 0) break;
    // relaxed: QUEUED only diverts fast paths to the lock, which orders everything after.
    if (state_.compare_exchange_weak(s, s | kQueued, std::memory_order_relaxed,
                                     std::memory_order_relaxed)) {
      break;
    }
  }
  w->waker = executor::detail::Waker::current(h);
  w->needed = n;
  w->state = SemaphoreWaiter::kWaiting;
  waiters_.push_back(w);
  return true;
}

void SemaphoreCore::release_slow(std::uint32_t n) noexcept {
  WakeBatch batch;
  for (bool more = true; more;) {
    {
      LockGuard g(lock_);
      if (waiters_.empty()) {
        // QUEUED is clear: fast paths may race us, so add with a CAS.
        std::uint32_t s = state_.load(std::memory_order_relaxed);
        do {
          if ((s >> 1) + n > kMaxPermits) {
            executor::detail::fatal("executor::sync::Semaphore: release past kMaxPermits");
          }
          // release: as in release().
        } while (!state_.compare_exchange_weak(s, s + (n << 1), std::memory_order_release,
                                               std::memory_order_relaxed));
        more = false;
      } else {
        more = grant_locked(state_, waiters_, n, batch);
      }
      n = 0;
    }
    batch.wake_all();  // after unlocking: the waiters resume later on workers
  }
}

void SemaphoreCore::cancel(SemaphoreWaiter* w) noexcept {
  std::uint32_t give_back = 0;
  WakeBatch batch;
  bool more = false;
  {
    LockGuard g(lock_);
    if (w->state == SemaphoreWaiter::kWaiting) {
      bool was_front = waiters_.front() == w;
      waiters_.remove(w);
      if (waiters_.empty()) {
        // relaxed: under the lock; fast paths only read QUEUED as a diversion.
        state_.fetch_and(~kQueued, std::memory_order_relaxed);
      } else if (was_front) {
        more = grant_locked(state_, waiters_, 0, batch);  // it may have blocked the next ones
      }
    } else if (w->state == SemaphoreWaiter::kGranted) {
      give_back = w->needed;  // granted but never resumed: the permits go back
    }
    w->state = SemaphoreWaiter::kNew;
  }
  w->waker.drop();
  batch.wake_all();
  if (more) release_slow(0);
  release(give_back);
}

}  // namespace executor::sync::detail
