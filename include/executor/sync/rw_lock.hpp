// executor::sync::RwLock<T>: an async reader-writer lock owning its value, FIFO-fair: many
// readers or one writer; a queued writer blocks readers that arrive after it (no starvation).
//
//   executor::sync::RwLock<Config> cfg;
//   { auto r = co_await cfg.read();  use(r->field); }     // shared
//   { auto w = co_await cfg.write(); w->field = 2; }      // exclusive
//
// Design: a Semaphore (sync/semaphore.hpp) with kMaxReaders permits; a reader takes one, a
// writer takes all of them. The semaphore's FIFO queue gives the fairness, its guard returns the
// permits, and its cancellation handling applies unchanged.
//
// Thread safety: all members from any thread; guards may be moved and dropped on any thread.
// Memory ordering: a writer's changes are visible to every later reader and writer (release on
// unlock, acquire on lock).
// Cancellation: destroying a coroutine suspended in read()/write() removes it from the queue;
// access granted to it but never used is returned. Nothing is lost, no one is skipped.
// Errors: none. Destroying an RwLock with waiters is a fatal error.
#pragma once

#include <coroutine>
#include <cstdint>
#include <optional>
#include <type_traits>
#include <utility>

#include <executor/sync/semaphore.hpp>

namespace executor::sync {

template <class T>
class RwLock;

// Shared access; released on destruction.
template <class T>
class [[nodiscard]] RwLockReadGuard {
 public:
  RwLockReadGuard(RwLockReadGuard&&) noexcept = default;
  RwLockReadGuard& operator=(RwLockReadGuard&&) noexcept = default;
  const T& operator*() const noexcept { return *value_; }
  const T* operator->() const noexcept { return value_; }
  void unlock() noexcept { permit_.release(); }

 private:
  friend class RwLock<T>;
  RwLockReadGuard(const T* v, SemaphorePermit p) noexcept : value_(v), permit_(std::move(p)) {}
  const T* value_;
  SemaphorePermit permit_;
};

// Exclusive access; released on destruction.
template <class T>
class [[nodiscard]] RwLockWriteGuard {
 public:
  RwLockWriteGuard(RwLockWriteGuard&&) noexcept = default;
  RwLockWriteGuard& operator=(RwLockWriteGuard&&) noexcept = default;
  T& operator*() const noexcept { return *value_; }
  T* operator->() const noexcept { return value_; }
  void unlock() noexcept { permit_.release(); }

 private:
  friend class RwLock<T>;
  RwLockWriteGuard(T* v, SemaphorePermit p) noexcept : value_(v), permit_(std::move(p)) {}
  T* value_;
  SemaphorePermit permit_;
};

template <class T>
class RwLock {
 public:
  static constexpr std::uint32_t kMaxReaders = Semaphore::kMaxPermits;

  RwLock() = default;
  template <class... Args>
  explicit RwLock(std::in_place_t, Args&&... args) : value_(std::forward<Args>(args)...) {}
  template <class U>
  requires(std::is_constructible_v<T, U&&> &&
           !std::is_same_v<std::decay_t<U>, RwLock>) explicit RwLock(U&& value)
      : value_(std::forward<U>(value)) {}
  RwLock(const RwLock&) = delete;
  RwLock& operator=(const RwLock&) = delete;

  // Awaiters of read()/write(): non-movable once awaited; live in the awaiting frame.
  class ReadOperation {
   public:
    explicit ReadOperation(RwLock* l) noexcept : l_(l), op_(&l->sem_, 1) {}
    bool await_ready() noexcept { return op_.await_ready(); }
    bool await_suspend(std::coroutine_handle<> h) noexcept { return op_.await_suspend(h); }
    RwLockReadGuard<T> await_resume() noexcept {
      return RwLockReadGuard<T>(&l_->value_, op_.await_resume());
    }

   private:
    RwLock* l_;
    AcquireOperation op_;
  };
  class WriteOperation {
   public:
    explicit WriteOperation(RwLock* l) noexcept : l_(l), op_(&l->sem_, kMaxReaders) {}
    bool await_ready() noexcept { return op_.await_ready(); }
    bool await_suspend(std::coroutine_handle<> h) noexcept { return op_.await_suspend(h); }
    RwLockWriteGuard<T> await_resume() noexcept {
      return RwLockWriteGuard<T>(&l_->value_, op_.await_resume());
    }

   private:
    RwLock* l_;
    AcquireOperation op_;
  };

  [[nodiscard]] ReadOperation read() noexcept { return ReadOperation(this); }
  [[nodiscard]] WriteOperation write() noexcept { return WriteOperation(this); }
  std::optional<RwLockReadGuard<T>> try_read() noexcept {
    if (!sem_.try_acquire(1)) return std::nullopt;
    return RwLockReadGuard<T>(&value_, SemaphorePermit(&sem_, 1));
  }
  std::optional<RwLockWriteGuard<T>> try_write() noexcept {
    if (!sem_.try_acquire(kMaxReaders)) return std::nullopt;
    return RwLockWriteGuard<T>(&value_, SemaphorePermit(&sem_, kMaxReaders));
  }
  // Direct access when no other task can use the lock (setup, teardown).
  T& get_unsynchronized() noexcept { return value_; }

 private:
  detail::SemaphoreCore sem_{kMaxReaders};
  T value_{};
};

}  // namespace executor::sync
