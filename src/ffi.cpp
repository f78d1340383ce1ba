// The C API (include/executor/ffi.h) and the generic half of EXECUTOR_EXPORT_TASK.
//
// Design
// ------
// Handles. A C handle is not a pointer but a 64-bit id (cast to `executor_task*`) that maps to a
// TaskState in a sharded registry. Ids are never reused, so a handle used after wait or
// handle_destroy freed it (double destroy, wait after destroy) is simply not found and reported,
// instead of touching freed memory. Every operation looks the id up under the shard's lock and
// takes a reference on the state for the duration of the call, so concurrent calls on one handle
// from many C threads are safe. Runtimes created by executor_runtime_new are ids too.
// The typed C functions pass their task type's Ops (its identity); a handle whose state has other
// Ops is reported and left alone. `wait` keeps the handle registered (marked `waiting`) until the
// task has finished, so cancel, poll and the others keep working on it meanwhile; a second wait
// or a handle_destroy during a wait is refused.
//
// Results. A result pointer handed to C by poll/wait is recorded (pointer -> Ops) until its
// result_destroy, which frees only a recorded pointer of its own type: a result of another type,
// a double destroy or a forged pointer is an error, not a mismatched delete.
//
// A TaskState has two references: the handle's (the registry entry; dropped by wait or
// handle_destroy) and the executor side's (the pool job, or the root coroutine's StateRef
// parameter; dropped after the outcome is published, or when the frame is destroyed).
//
// Start and cancellation race through `claimed_` (0 -> 1 once):
//   runner (pool job / root coroutine):  claim_start() wins -> run(token) -> finish_*()
//   cancel():                            token.cancel(); claim wins -> finish_cancelled() at once
// so a task cancelled before it starts never runs and its waiters return immediately, even if
// the pool or the runtime has not reached it yet; the runner that later loses the claim just
// drops its reference.
//
// Outcome publication (`finishing_` 0 -> 1 once, first finisher wins):
//   finish_*(): write outcome_/result_/error_; unlink from the runtime record; under mu_ set
//   done_ (release) and take the callback, signal the eventfd; after unlocking, wake futex
//   waiters (wait) and run the callback (marked running, so that closing the handle can wait
//   for it to return).
// Readers (poll, wait, is_finished) load done_ with acquire and then read the outcome; taking
// the result is exclusive under mu_.
//
// Runtimes. Coroutine tasks run on the newest runtime from executor_runtime_new, else the lazy
// runtime (created on first need, never destroyed), else a C++ Runtime the process already has.
// A RuntimeRecord lists its unfinished C tasks (intrusive, under its mutex) so that
// executor_runtime_free can cancel their tokens before destroying the runtime, and waits for the
// list to drain (a cancel() on another thread may still be publishing) before freeing the record.
// Spawns hold the runtimes lock shared while they pick a runtime and spawn onto it, so a runtime
// is never destroyed under a spawn.
#include <executor/ffi.h>
#include <executor/ffi_export.hpp>

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <executor/runtime.hpp>
#include <executor/spawn.hpp>

namespace executor::detail::ffi {

// --- Last error ---------------------------------------------------------------------------------

namespace {

struct LastError {
  std::string message;
  bool set = false;
};
thread_local LastError tl_error;

void clear_error() noexcept {
  tl_error.set = false;
  tl_error.message.clear();  // keeps the capacity: no allocation on the next error
}

void set_error(std::string_view a, std::string_view b = {}, std::string_view c = {}) noexcept {
  try {
    tl_error.message.assign(a);
    tl_error.message.append(b);
    tl_error.message.append(c);
  } catch (...) {
    tl_error.message.clear();  // cannot fail: capacity only shrinks
  }
  tl_error.set = true;
}

std::string exception_message(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    return ex.what();
  } catch (...) {
    return "task threw an exception not derived from std::exception";
  }
}

// --- Runtime records ----------------------------------------------------------------------------

struct RuntimeRecord {
  std::unique_ptr<Runtime> runtime;
  std::mutex mu;
  std::condition_variable drained;
  TaskState* live = nullptr;  // unfinished C tasks spawned onto this runtime (under mu)
};

struct Runtimes {
  std::shared_mutex mu;
  std::unordered_map<std::uint64_t, RuntimeRecord*> by_id;  // under mu
  std::vector<RuntimeRecord*> created;                      // under mu; newest last
  RuntimeRecord* lazy = nullptr;                            // under mu; never destroyed
};

// Never destroyed: C threads may still call in while static destructors run at exit.
Runtimes& runtimes() {
  static Runtimes* r = new Runtimes();
  return *r;
}

// --- Handle registry ----------------------------------------------------------------------------

// relaxed: ids only need to be unique. Shared by tasks and runtimes so that one kind of handle
// passed as the other is never found.
std::atomic<std::uint64_t> g_next_id{1};

struct Registry {
  static constexpr unsigned kShards = 16;
  struct Entry {
    TaskState* state;
    bool waiting = false;  // a wait() on another thread owns the removal
  };
  struct alignas(64) Shard {
    std::mutex mu;
    std::unordered_map<std::uint64_t, Entry> map;
  };
  Shard shards[kShards];
  Shard& shard(std::uint64_t id) { return shards[id % kShards]; }
};

// Result pointers handed to C and not yet destroyed, with their task type.
struct Results {
  static constexpr unsigned kShards = 16;
  struct alignas(64) Shard {
    std::mutex mu;
    std::unordered_map<void*, const TaskState::Ops*> map;
  };
  Shard shards[kShards];
  Shard& shard(const void* p) {
    return shards[(reinterpret_cast<std::uintptr_t>(p) >> 4) % kShards];
  }
};

Results& results() {
  static Results* r = new Results();  // never destroyed, as runtimes()
  return *r;
}

Registry& registry() {
  static Registry* r = new Registry();  // never destroyed, as runtimes()
  return *r;
}

std::uint64_t id_of(const void* handle) noexcept {
  return static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(handle));
}

}  // namespace

struct StateAccess {
  static std::atomic<std::uint32_t>& refs(TaskState* s) { return s->refs_; }

  static void add_ref(TaskState* s) noexcept {
    // relaxed: derived from a reference the caller holds (the registry's, under its lock).
    s->refs_.fetch_add(1, std::memory_order_relaxed);
  }

  static bool done(TaskState* s) noexcept {
    // acquire: pairs with the release store in publish(); the outcome is visible.
    return s->done_.load(std::memory_order_acquire) != 0;
  }

  static void wait_done(TaskState* s) noexcept {
    while (s->done_.load(std::memory_order_acquire) == 0) {
      s->done_.wait(0, std::memory_order_acquire);
    }
  }

  // The outcome as poll/wait return it. Requires done().
  static void* take(TaskState* s, const char* fn) noexcept {
    switch (s->outcome_) {
      case TaskState::Outcome::kValue: {
        std::lock_guard lock(s->mu_);
        if (s->result_taken_) {
          set_error(fn, ": the result was already taken by an earlier poll");
          return nullptr;
        }
        if (s->result_ != empty_result()) {
          Results::Shard& sh = results().shard(s->result_);
          try {
            std::lock_guard rlock(sh.mu);
            sh.map.emplace(s->result_, s->ops_);
          } catch (...) {
            set_error(fn, ": out of memory (the result stays with the task; try again)");
            return nullptr;
          }
        }
        s->result_taken_ = true;
        return std::exchange(s->result_, nullptr);
      }
      case TaskState::Outcome::kError:
      case TaskState::Outcome::kCancelled:
        set_error(s->error_);
        return nullptr;
      case TaskState::Outcome::kPending:
        break;
    }
    return nullptr;
  }

  static void cancel_token(TaskState* s) noexcept { s->token_.cancel(); }

  // cancel(), handle_destroy(), executor_runtime_free(): request cancellation; a task that has
  // not started is finished at once.
  static void request_cancel(TaskState* s) noexcept {
    s->token_.cancel();
    std::uint32_t expected = 0;
    // acq_rel: orders this claim against the runner's claim_start (only one wins).
    if (s->claimed_.compare_exchange_strong(expected, 1, std::memory_order_acq_rel)) {
      s->finish_cancelled("task was cancelled before it started");
    }
  }

  // The handle goes away: stop the callback (waiting for it if another thread runs it right
  // now), close the eventfd, drop the handle's reference.
  static void close_handle(TaskState* s) noexcept {
    {
      std::unique_lock lock(s->mu_);
      s->callback_ = nullptr;
      s->callback_data_ = nullptr;
      while (s->callback_running_ && s->callback_thread_ != std::this_thread::get_id()) {
        s->callback_done_.wait(lock);
      }
      if (s->eventfd_ >= 0) {
        ::close(s->eventfd_);
        s->eventfd_ = -1;
      }
    }
    s->release();
  }

  static int set_callback(TaskState* s, executor_task_callback cb, void* data) noexcept {
    {
      std::lock_guard lock(s->mu_);
      if (!done(s)) {
        s->callback_ = cb;
        s->callback_data_ = data;
        return 0;
      }
      s->callback_ = nullptr;
    }
    if (cb != nullptr) cb(data);  // already finished: run it now, on this thread
    return 0;
  }

  static int eventfd(TaskState* s) noexcept {
    std::lock_guard lock(s->mu_);
    if (s->eventfd_ < 0) {
      int fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
      if (fd < 0) return -1;
      s->eventfd_ = fd;
      if (done(s)) signal_eventfd(fd);
    }
    return s->eventfd_;
  }

  static void signal_eventfd(int fd) noexcept {
    std::uint64_t one = 1;
    // Cannot block (non-blocking) and cannot overflow (written at most once).
    [[maybe_unused]] ssize_t n = ::write(fd, &one, sizeof one);
  }

  static void link(RuntimeRecord* rec, TaskState* s) {
    s->runtime_record_ = rec;
    std::lock_guard lock(rec->mu);
    s->rt_prev_ = nullptr;
    s->rt_next_ = rec->live;
    if (rec->live != nullptr) rec->live->rt_prev_ = s;
    rec->live = s;
  }

  static void unlink(TaskState* s) noexcept {
    auto* rec = static_cast<RuntimeRecord*>(s->runtime_record_);
    if (rec == nullptr) return;
    std::lock_guard lock(rec->mu);
    if (s->rt_prev_ != nullptr) {
      s->rt_prev_->rt_next_ = s->rt_next_;
    } else {
      rec->live = s->rt_next_;
    }
    if (s->rt_next_ != nullptr) s->rt_next_->rt_prev_ = s->rt_prev_;
    s->rt_prev_ = s->rt_next_ = nullptr;
    if (rec->live == nullptr) rec->drained.notify_all();
  }

  // Takes a reference on every unfinished task of `rec` (executor_runtime_free).
  static std::vector<TaskState*> live_tasks(RuntimeRecord* rec) {
    std::vector<TaskState*> out;
    std::lock_guard lock(rec->mu);
    for (TaskState* s = rec->live; s != nullptr; s = s->rt_next_) {
      add_ref(s);
      out.push_back(s);
    }
    return out;
  }

  static bool begin_finish(TaskState* s) noexcept {
    std::uint32_t expected = 0;
    // relaxed: only decides who publishes; publication itself is ordered by done_.
    return s->finishing_.compare_exchange_strong(expected, 1, std::memory_order_relaxed);
  }

  static void publish(TaskState* s) noexcept {
    unlink(s);
    executor_task_callback cb = nullptr;
    void* data = nullptr;
    {
      std::lock_guard lock(s->mu_);
      // release: pairs with the acquire loads in done()/wait_done(); the outcome is visible.
      s->done_.store(1, std::memory_order_release);
      cb = std::exchange(s->callback_, nullptr);
      data = s->callback_data_;
      if (cb != nullptr) {
        s->callback_running_ = true;
        s->callback_thread_ = std::this_thread::get_id();
      }
      if (s->eventfd_ >= 0) signal_eventfd(s->eventfd_);
    }
    s->done_.notify_all();  // the caller's reference keeps the state alive across this
    if (cb != nullptr) {
      cb(data);
      std::lock_guard lock(s->mu_);
      s->callback_running_ = false;
      s->callback_done_.notify_all();
    }
  }
};

// --- TaskState ----------------------------------------------------------------------------------

TaskState::TaskState(const Ops* ops) : ops_(ops) {}

TaskState::~TaskState() {
  if (outcome_ == Outcome::kValue && result_ != nullptr) ops_->destroy_result(result_);
  if (eventfd_ >= 0) ::close(eventfd_);
}

bool TaskState::claim_start() noexcept {
  std::uint32_t expected = 0;
  // acq_rel: see StateAccess::request_cancel.
  return claimed_.compare_exchange_strong(expected, 1, std::memory_order_acq_rel);
}

void TaskState::finish_value(void* result) noexcept {
  if (!StateAccess::begin_finish(this)) {
    if (result != nullptr) ops_->destroy_result(result);
    return;
  }
  outcome_ = Outcome::kValue;
  result_ = result;
  StateAccess::publish(this);
}

void TaskState::finish_error(std::string_view message) noexcept {
  if (!StateAccess::begin_finish(this)) return;
  outcome_ = Outcome::kError;
  try {
    error_.assign(message);
  } catch (...) {
    error_.clear();  // out of memory: an empty message still reports the failure
  }
  StateAccess::publish(this);
}

void TaskState::finish_exception(const std::exception_ptr& e) noexcept {
  std::string message;
  try {
    message = exception_message(e);
  } catch (...) {
  }
  finish_error(message);
}

void TaskState::finish_cancelled(std::string_view why) noexcept {
  if (!StateAccess::begin_finish(this)) return;
  outcome_ = Outcome::kCancelled;
  try {
    error_.assign(why);
  } catch (...) {
    error_.clear();
  }
  StateAccess::publish(this);
}

void TaskState::release() noexcept {
  // acq_rel: the last holder sees every other holder's writes before deleting.
  if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) ops_->destroy(this);
}

void* empty_result() noexcept {
  static char sentinel;
  return &sentinel;
}

// --- Generic operations -------------------------------------------------------------------------

namespace {

// What a registry operation does with the entry it found.
enum class Take {
  kRef,        // take a reference (the caller releases it)
  kBeginWait,  // mark it waiting and take a reference (refused if already waiting)
  kRemove,     // remove it: the registry's reference passes to the caller (refused if waiting)
};

// Finds a handle of task type `type` (nullptr: any type) and applies `how` under the shard's
// lock. Sets the last error and returns nullptr if the handle is bad or the request refused.
TaskState* find(executor_task* handle, const TaskState::Ops* type, Take how,
                const char* fn) noexcept {
  if (handle == nullptr) {
    set_error(fn, ": the task handle is NULL");
    return nullptr;
  }
  std::uint64_t id = id_of(handle);
  Registry::Shard& sh = registry().shard(id);
  std::lock_guard lock(sh.mu);
  auto it = sh.map.find(id);
  if (it == sh.map.end()) {
    set_error(fn, ": unknown task handle (already freed by wait or handle_destroy?)");
    return nullptr;
  }
  Registry::Entry& e = it->second;
  if (type != nullptr && e.state->ops() != type) {
    set_error(fn, ": the handle is a task of another type (use that type's functions)");
    return nullptr;
  }
  switch (how) {
    case Take::kRef:
      break;
    case Take::kBeginWait:
      if (e.waiting) {
        set_error(fn, ": another thread is already waiting on this handle");
        return nullptr;
      }
      e.waiting = true;
      break;
    case Take::kRemove: {
      if (e.waiting) {
        set_error(fn,
                  ": another thread is waiting on this handle (wait frees it; cancel it "
                  "instead)");
        return nullptr;
      }
      TaskState* s = e.state;
      sh.map.erase(it);
      return s;
    }
  }
  StateAccess::add_ref(e.state);
  return e.state;
}

// Looks a handle up and takes a reference (the caller releases it). Sets the last error.
TaskState* lookup(executor_task* handle, const char* fn,
                  const TaskState::Ops* type = nullptr) noexcept {
  return find(handle, type, Take::kRef, fn);
}

// Removes the entry of a handle whose wait has finished (its `waiting` mark kept every other
// removal away): the registry's reference passes to the caller.
TaskState* end_wait(executor_task* handle) noexcept {
  std::uint64_t id = id_of(handle);
  Registry::Shard& sh = registry().shard(id);
  std::lock_guard lock(sh.mu);
  auto it = sh.map.find(id);
  TaskState* s = it->second.state;
  sh.map.erase(it);
  return s;
}

struct Ref {
  TaskState* s;
  ~Ref() {
    if (s != nullptr) s->release();
  }
};

RuntimeRecord* new_record(std::unique_ptr<Runtime> rt) {
  auto* rec = new RuntimeRecord();
  rec->runtime = std::move(rt);
  return rec;
}

// Spawns the root of a coroutine task onto the C API's runtime. Throws on failure (the state
// is then finished as cancelled and the executor reference released, by StateRef).
void spawn_coroutine(TaskState* st, MakeRoot make_root) {
  Runtimes& rts = runtimes();
  std::shared_lock shared(rts.mu);
  RuntimeRecord* rec = nullptr;
  Scheduler* sched = nullptr;
  if (!rts.created.empty()) {
    rec = rts.created.back();
  } else if (rts.lazy != nullptr) {
    rec = rts.lazy;
  } else if ((sched = default_scheduler()) == nullptr) {
    shared.unlock();
    {
      std::unique_lock exclusive(rts.mu);
      if (rts.lazy == nullptr && rts.created.empty()) {
        absl::StatusOr<std::unique_ptr<Runtime>> rt = Runtime::create();
        if (!rt.ok()) throw std::runtime_error(std::string(rt.status().message()));
        rts.lazy = new_record(*std::move(rt));
      }
    }
    spawn_coroutine(st, make_root);  // pick again (an explicit runtime may have appeared)
    return;
  }
  if (rec != nullptr) {
    sched = rec->runtime->scheduler();
    StateAccess::link(rec, st);
  }
  Task<void> root = make_root(st);
  if (!root.valid()) throw std::bad_alloc();
  spawn_on(sched, std::move(root)).detach();
}

}  // namespace

executor_task* spawn_state(const void* task, MakeState make, MakeRoot make_root,
                           const char* fn) noexcept {
  clear_error();
  if (task == nullptr) {
    set_error(fn, ": the task is NULL");
    return nullptr;
  }
  TaskState* st = nullptr;
  try {
    st = make(task);
  } catch (const std::exception& e) {
    set_error(fn, ": cannot create the task: ", e.what());
    return nullptr;
  }
  Ref handle_ref{st};  // released on failure
  try {
    if (make_root != nullptr) {
      spawn_coroutine(st, make_root);
    } else {
      try {
        submit_blocking(st);
      } catch (...) {
        st->release();  // the job was not queued: drop the executor side's reference
        throw;
      }
    }
  } catch (const std::exception& e) {
    set_error(fn, ": cannot start the task: ", e.what());
    return nullptr;
  }
  std::uint64_t id = g_next_id.fetch_add(1, std::memory_order_relaxed);
  try {
    Registry::Shard& sh = registry().shard(id);
    std::lock_guard lock(sh.mu);
    sh.map.emplace(id, Registry::Entry{st});
  } catch (...) {
    StateAccess::request_cancel(st);  // nobody can reach it: cancel and detach
    set_error(fn, ": out of memory");
    return nullptr;
  }
  handle_ref.s = nullptr;  // now the registry's
  return reinterpret_cast<executor_task*>(static_cast<std::uintptr_t>(id));
}

void* poll(executor_task* handle, const TaskState::Ops* type, const char* fn) noexcept {
  clear_error();
  Ref ref{lookup(handle, fn, type)};
  if (ref.s == nullptr || !StateAccess::done(ref.s)) return nullptr;
  return StateAccess::take(ref.s, fn);
}

void* wait(executor_task* handle, const TaskState::Ops* type, const char* fn) noexcept {
  clear_error();
  if (handle != nullptr && on_runtime_worker()) {
    set_error(fn,
              ": called on a runtime worker thread, which must never block; use poll, "
              "executor_task_set_callback or executor_task_eventfd there (the handle is still "
              "valid)");
    return nullptr;
  }
  Ref ref{find(handle, type, Take::kBeginWait, fn)};
  if (ref.s == nullptr) return nullptr;
  StateAccess::wait_done(ref.s);
  TaskState* s = end_wait(handle);  // the registry's reference, now ours
  void* r = StateAccess::take(s, fn);
  StateAccess::close_handle(s);
  return r;
}

int cancel(executor_task* handle, const TaskState::Ops* type, const char* fn) noexcept {
  clear_error();
  Ref ref{lookup(handle, fn, type)};
  if (ref.s == nullptr) return -1;
  StateAccess::request_cancel(ref.s);
  return 0;
}

int cancelled(executor_task* handle, const TaskState::Ops* type, const char* fn) noexcept {
  clear_error();
  Ref ref{lookup(handle, fn, type)};
  if (ref.s == nullptr) return -1;
  return ref.s->token().is_cancelled() ? 1 : 0;
}

void handle_destroy(executor_task* handle, const TaskState::Ops* type, const char* fn) noexcept {
  clear_error();
  TaskState* s = find(handle, type, Take::kRemove, fn);
  if (s == nullptr) return;
  if (!StateAccess::done(s)) StateAccess::request_cancel(s);  // then detach
  StateAccess::close_handle(s);
}

void result_destroy(void* result, const TaskState::Ops* type, const char* fn) noexcept {
  clear_error();
  if (result == nullptr) return;
  Results::Shard& sh = results().shard(result);
  {
    std::lock_guard lock(sh.mu);
    auto it = sh.map.find(result);
    if (it == sh.map.end()) {
      set_error(fn, ": unknown result (already destroyed, or not from poll/wait?)");
      return;
    }
    if (it->second != type) {
      set_error(fn,
                ": the result belongs to a task of another type (use that type's "
                "result_destroy)");
      return;
    }
    sh.map.erase(it);
  }
  type->destroy_result(result);
}

void check_empty_result(void* result, const char* fn) noexcept {
  clear_error();
  if (result == nullptr || result == empty_result()) return;
  set_error(fn, ": not a result of this task type (its results own nothing)");
}

}  // namespace executor::detail::ffi

// --- The C functions of ffi.h -------------------------------------------------------------------

using executor::detail::ffi::clear_error;
using executor::detail::ffi::lookup;
using executor::detail::ffi::Ref;
using executor::detail::ffi::set_error;
using executor::detail::ffi::StateAccess;
using executor::detail::ffi::tl_error;

extern "C" {

size_t executor_last_error_length(void) {
  return tl_error.set ? tl_error.message.size() + 1 : 0;
}

int executor_last_error_message(char* buf, size_t len) {
  if (buf == nullptr) return -1;
  if (!tl_error.set) {
    if (len == 0) return -1;
    buf[0] = '\0';
    return 0;
  }
  size_t need = tl_error.message.size() + 1;
  if (len < need) return -1;
  std::memcpy(buf, tl_error.message.data(), need - 1);
  buf[need - 1] = '\0';
  return static_cast<int>(need);
}

void executor_clear_last_error(void) {
  clear_error();
}

int executor_task_is_finished(executor_task* task) {
  clear_error();
  Ref ref{lookup(task, "executor_task_is_finished")};
  if (ref.s == nullptr) return -1;
  return StateAccess::done(ref.s) ? 1 : 0;
}

int executor_task_set_callback(executor_task* task, executor_task_callback callback,
                               void* user_data) {
  clear_error();
  Ref ref{lookup(task, "executor_task_set_callback")};
  if (ref.s == nullptr) return -1;
  return StateAccess::set_callback(ref.s, callback, user_data);
}

int executor_task_eventfd(executor_task* task) {
  clear_error();
  Ref ref{lookup(task, "executor_task_eventfd")};
  if (ref.s == nullptr) return -1;
  int fd = StateAccess::eventfd(ref.s);
  if (fd < 0) set_error("executor_task_eventfd: eventfd failed: ", std::strerror(errno));
  return fd;
}

executor_runtime* executor_runtime_new(unsigned workers) {
  using namespace executor::detail::ffi;
  clear_error();
  if (workers > 1024) {
    set_error("executor_runtime_new: workers must be at most 1024 (0 = one per CPU)");
    return nullptr;
  }
  try {
    absl::StatusOr<std::unique_ptr<executor::Runtime>> rt =
        executor::Runtime::create({.workers = workers});
    if (!rt.ok()) {
      absl::string_view m = rt.status().message();
      set_error("executor_runtime_new: ", std::string_view(m.data(), m.size()));
      return nullptr;
    }
    RuntimeRecord* rec = new_record(*std::move(rt));
    std::uint64_t id = g_next_id.fetch_add(1, std::memory_order_relaxed);
    Runtimes& rts = runtimes();
    std::unique_lock lock(rts.mu);
    try {
      rts.by_id.emplace(id, rec);
      rts.created.push_back(rec);
    } catch (...) {
      rts.by_id.erase(id);
      lock.unlock();
      delete rec;
      throw;
    }
    return reinterpret_cast<executor_runtime*>(static_cast<std::uintptr_t>(id));
  } catch (const std::exception& e) {
    set_error("executor_runtime_new: ", e.what());
    return nullptr;
  }
}

int executor_runtime_free(executor_runtime* runtime) {
  using namespace executor::detail::ffi;
  clear_error();
  if (runtime == nullptr) {
    set_error("executor_runtime_free: the runtime is NULL");
    return -1;
  }
  if (executor::detail::on_runtime_worker()) {
    set_error(
        "executor_runtime_free: called on a runtime worker thread (a runtime cannot stop the "
        "thread it runs on, and workers must never block)");
    return -1;
  }
  Runtimes& rts = runtimes();
  RuntimeRecord* rec = nullptr;
  {
    std::unique_lock lock(rts.mu);
    auto it = rts.by_id.find(id_of(runtime));
    if (it == rts.by_id.end()) {
      set_error("executor_runtime_free: unknown runtime (already freed?)");
      return -1;
    }
    rec = it->second;
    rts.by_id.erase(it);
    std::erase(rts.created, rec);
  }
  // No new task can reach the runtime now. Cancel the tokens of the unfinished ones, stop the
  // threads and destroy what is left (each destroyed root finishes its task as cancelled).
  std::vector<TaskState*> live;
  try {
    live = StateAccess::live_tasks(rec);
  } catch (...) {
    // Out of memory: skip the courtesy cancellation; destruction below still cancels.
  }
  for (TaskState* s : live) {
    StateAccess::cancel_token(s);
    s->release();
  }
  rec->runtime.reset();
  {
    std::unique_lock lock(rec->mu);
    rec->drained.wait(lock, [&] { return rec->live == nullptr; });
  }
  delete rec;
  return 0;
}

}  // extern "C"
