// EXECUTOR_EXPORT_TASK: generate the C API of a C++ task type (see <executor/ffi.h>).
//
// A task type is a copyable struct with one of:
//
//   Output run(const executor::CancellationToken& token);              // blocking form
//   executor::Task<Output> run(executor::CancellationToken token);     // coroutine form
//
// The blocking form runs on the process-wide blocking pool (see <executor/spawn_blocking.hpp>):
// it may block and should poll `token.is_cancelled()` (or register a callback) to stop early.
// The coroutine form runs on a runtime's workers (see ffi.h for which runtime); it must not
// block, and can `co_await token.cancelled()` or pass the token on.
//
// Output and what C sees:
//   T                   result_type T, allocated with new (an empty struct is not allocated)
//   void                result_type void: nothing is allocated, result_destroy is a no-op
//   absl::Status        like void on OK; otherwise a failure (NULL + last error = ToString())
//   absl::StatusOr<T>   like T on OK; otherwise a failure
// A thrown exception is a failure too (last error = what()). For C to read a result, T should
// be a standard-layout type that C can declare (plain struct, integer, pointer...).
//
//   struct Spin {                       // C view: typedef struct spin_task { int64_t limit; }
//     int64_t limit;
//     int64_t run(const executor::CancellationToken& token) const {
//       int64_t n = 0;
//       while (n < limit && !token.is_cancelled()) ++n;
//       return n;
//     }
//   };
//   EXECUTOR_EXPORT_TASK(Spin, spin_spawn, spin_wait, spin_poll, spin_cancel, spin_cancelled,
//                        spin_handle_destroy, spin_result_destroy);
//
// The macro defines the seven `extern "C"` functions documented in ffi.h with default
// visibility, so they are exported from a shared library even when it is built with
// -fvisibility=hidden. Use it once per task type, at namespace scope of one .cpp file.
//
// Thread safety, errors, cancellation: as documented in ffi.h. The task object is copied at
// spawn and lives until the task finishes; run() is called at most once, on that copy.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <mutex>
#include <new>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <utility>

#include <absl/status/status.h>
#include <absl/status/statusor.h>

#include <executor/ffi.h>
#include <executor/cancellation_token.hpp>
#include <executor/export.hpp>
#include <executor/spawn_blocking.hpp>
#include <executor/task.hpp>

namespace executor::detail::ffi {

// The shared state of one task spawned from C. Allocated by the typed layer (TypedState below),
// owned by two references: the handle's (held by the handle registry until wait/handle_destroy)
// and the executor side's (the pool job, or the root coroutine's frame). Defined in src/ffi.cpp,
// whose opening comment describes the protocol.
class EXECUTOR_API TaskState : public BlockingJob {
 public:
  struct Ops {
    void (*destroy)(TaskState*) noexcept;    // deletes the typed object
    void (*destroy_result)(void*) noexcept;  // frees a result pointer nobody took
  };

  explicit TaskState(const Ops* ops);  // throws std::bad_alloc (the token's state)
  TaskState(const TaskState&) = delete;
  TaskState& operator=(const TaskState&) = delete;

  const CancellationToken& token() const noexcept { return token_; }
  // The task type's operations: also its identity, checked by the typed C functions.
  const Ops* ops() const noexcept { return ops_; }

  // Executor side, before run(): claims the start. False if cancel() claimed it first (the task
  // is then already finished as cancelled and must not run).
  bool claim_start() noexcept;
  // Executor side: publish the outcome. The first call wins; later calls are ignored (a result
  // passed to them is freed).
  void finish_value(void* result) noexcept;
  void finish_error(std::string_view message) noexcept;
  void finish_exception(const std::exception_ptr& e) noexcept;
  void finish_cancelled(std::string_view why) noexcept;
  // Drops one reference (the last one deletes the state).
  void release() noexcept;

 protected:
  ~TaskState();

 private:
  friend struct StateAccess;
  enum class Outcome : std::uint8_t { kPending, kValue, kError, kCancelled };

  const Ops* ops_;
  CancellationToken token_;
  // --- any thread, atomically ---
  std::atomic<std::uint32_t> refs_{2};
  std::atomic<std::uint32_t> claimed_{0};    // 1: a runner or cancel() owns the start
  std::atomic<std::uint32_t> finishing_{0};  // 1: the outcome is being / has been published
  std::atomic<std::uint32_t> done_{0};       // futex word: 1 once the outcome is published
  // --- written once by the finisher before done_ (release); read after done_ (acquire) ---
  Outcome outcome_ = Outcome::kPending;
  void* result_ = nullptr;
  std::string error_;
  // --- guarded by mu_ ---
  std::mutex mu_;
  std::condition_variable callback_done_;
  bool result_taken_ = false;
  executor_task_callback callback_ = nullptr;
  void* callback_data_ = nullptr;
  bool callback_running_ = false;
  std::thread::id callback_thread_;
  int eventfd_ = -1;
  // --- set by spawn before the task starts (the runtime record tracks unfinished tasks) ---
  void* runtime_record_ = nullptr;
  TaskState* rt_prev_ = nullptr;  // guarded by the record's mutex
  TaskState* rt_next_ = nullptr;  // guarded by the record's mutex
};

// The executor side's reference, as a coroutine parameter: a parameter lives in the frame, so
// it is released even if the frame is destroyed before the body ever ran (runtime teardown), or
// never allocated. Releasing finishes the task as cancelled unless it finished already, or
// unless cancel() claimed its start (then cancel() publishes the outcome).
class StateRef {
 public:
  explicit StateRef(TaskState* st) noexcept : st_(st) {}
  StateRef(StateRef&& o) noexcept : st_(std::exchange(o.st_, nullptr)), finish_(o.finish_) {}
  StateRef(const StateRef&) = delete;
  StateRef& operator=(const StateRef&) = delete;
  ~StateRef() {
    if (st_ != nullptr) {
      if (finish_) st_->finish_cancelled("task was cancelled: its runtime was destroyed");
      st_->release();
    }
  }
  TaskState* get() const noexcept { return st_; }
  // cancel() claimed the start: it publishes the outcome (perhaps not yet: it may still be on
  // its way), so the destructor only releases.
  void leave_outcome_to_canceller() noexcept { finish_ = false; }

 private:
  TaskState* st_;
  bool finish_ = true;
};

// The pointer returned for results without data (void, empty structs, absl::Status): non-null,
// never dereferenced, never freed.
EXECUTOR_API void* empty_result() noexcept;

// Generic implementations behind the generated functions (src/ffi.cpp). `fn` names the C
// function for error messages; `type` is the task type's Ops (its identity): a handle of another
// task type, or a result of another type, is an error that touches nothing.
// `make` copies the task into a new state (may throw); `make_root` (coroutine form only) returns
// the root task for a state.
using MakeState = TaskState* (*)(const void* task);
using MakeRoot = Task<void> (*)(TaskState* state);
EXECUTOR_API executor_task* spawn_state(const void* task, MakeState make, MakeRoot make_root,
                                        const char* fn) noexcept;
EXECUTOR_API void* poll(executor_task* handle, const TaskState::Ops* type, const char* fn) noexcept;
EXECUTOR_API void* wait(executor_task* handle, const TaskState::Ops* type, const char* fn) noexcept;
EXECUTOR_API int cancel(executor_task* handle, const TaskState::Ops* type, const char* fn) noexcept;
EXECUTOR_API int cancelled(executor_task* handle, const TaskState::Ops* type,
                           const char* fn) noexcept;
EXECUTOR_API void handle_destroy(executor_task* handle, const TaskState::Ops* type,
                                 const char* fn) noexcept;
// Frees a result that poll/wait handed out for a task of `type` (an allocating type).
EXECUTOR_API void result_destroy(void* result, const TaskState::Ops* type, const char* fn) noexcept;
// A result of a type that allocates nothing: only NULL and empty_result() are accepted.
EXECUTOR_API void check_empty_result(void* result, const char* fn) noexcept;

// --- Output mapping ---------------------------------------------------------------------------

template <class Output>
struct OutputTraits {
  using CResult = Output;
  using Value = Output;
};
template <>
struct OutputTraits<void> {
  using CResult = void;
  using Value = void;
};
template <>
struct OutputTraits<absl::Status> {
  using CResult = void;
  using Value = void;
};
template <class T>
struct OutputTraits<absl::StatusOr<T>> {
  using CResult = T;
  using Value = T;
};

template <class Value>
inline constexpr bool allocates_v = !std::is_void_v<Value> && !std::is_empty_v<Value>;

template <class Value>
void publish_value(TaskState* st, Value&& v) {
  if constexpr (allocates_v<std::decay_t<Value>>) {
    st->finish_value(new std::decay_t<Value>(std::forward<Value>(v)));
  } else {
    st->finish_value(empty_result());
  }
}

template <class T>
inline constexpr bool is_status_or_v = false;
template <class T>
inline constexpr bool is_status_or_v<absl::StatusOr<T>> = true;

// Publishes run()'s output: a value, or a failure for a non-OK status.
template <class Output>
void publish(TaskState* st, Output&& out) {
  using O = std::decay_t<Output>;
  if constexpr (std::is_same_v<O, absl::Status>) {
    if (out.ok()) {
      st->finish_value(empty_result());
    } else {
      st->finish_error(out.ToString());
    }
  } else if constexpr (is_status_or_v<O>) {
    if (out.ok()) {
      publish_value(st, *std::move(out));
    } else {
      st->finish_error(out.status().ToString());
    }
  } else {
    publish_value(st, std::forward<Output>(out));
  }
}

template <class T>
struct IsTask : std::false_type {};
template <class T>
struct IsTask<Task<T>> : std::true_type {
  using type = T;
};

template <class Type>
concept HasRun = requires(Type& t, const CancellationToken& token) {
  t.run(token);
};

template <class Type>
struct TaskTraits {
  static_assert(HasRun<Type>,
                "EXECUTOR_EXPORT_TASK: the task type needs `Output run(const "
                "executor::CancellationToken&)` or `executor::Task<Output> "
                "run(executor::CancellationToken)`");
  using Run = decltype(std::declval<Type&>().run(std::declval<const CancellationToken&>()));
  static constexpr bool kCoroutine = IsTask<Run>::value;
  using Output =
      typename std::conditional_t<kCoroutine, IsTask<Run>, std::type_identity<Run>>::type;
  using CResult = typename OutputTraits<Output>::CResult;
};

template <class Type>
using c_result_t = typename TaskTraits<Type>::CResult;

template <class Type>
class TypedState final : public TaskState {
 public:
  using Traits = TaskTraits<Type>;
  using Output = typename Traits::Output;
  using Value = typename OutputTraits<Output>::Value;

  explicit TypedState(const Type& task) : TaskState(&kOps), task_(task) {
    if constexpr (!Traits::kCoroutine) this->run = &run_job;
  }

  static TaskState* make(const void* task) {
    return new TypedState(*static_cast<const Type*>(task));
  }
  static const Ops* type() noexcept { return &kOps; }

  static void destroy_result(void* p) noexcept {
    if constexpr (allocates_v<Value>) delete static_cast<Value*>(p);
  }

 private:
  ~TypedState() = default;
  static void destroy(TaskState* s) noexcept { delete static_cast<TypedState*>(s); }

  // Blocking form: runs on a pool thread.
  static void run_job(BlockingJob* job) noexcept {
    auto* self = static_cast<TypedState*>(job);
    if (self->claim_start()) {
      if (self->token().is_cancelled()) {
        self->finish_cancelled("task was cancelled before it started");
      } else {
        try {
          if constexpr (std::is_void_v<Output>) {
            self->task_.run(self->token());
            self->finish_value(empty_result());
          } else {
            publish(self, self->task_.run(self->token()));
          }
        } catch (...) {
          self->finish_exception(std::current_exception());
        }
      }
    }
    self->release();
  }

  // Coroutine form: the root task spawned on the runtime.
  static Task<void> root(StateRef ref) {
    auto* self = static_cast<TypedState*>(ref.get());
    if (!self->claim_start()) {  // cancelled before it started: cancel() finishes it
      ref.leave_outcome_to_canceller();
      co_return;
    }
    if (self->token().is_cancelled()) {
      self->finish_cancelled("task was cancelled before it started");
      co_return;
    }
    try {
      if constexpr (std::is_void_v<Output>) {
        co_await self->task_.run(self->token());
        self->finish_value(empty_result());
      } else {
        Output out = co_await self->task_.run(self->token());
        publish(self, std::move(out));
      }
    } catch (...) {
      self->finish_exception(std::current_exception());
    }
  }

 public:
  static Task<void> make_root(TaskState* st) { return root(StateRef(st)); }

 private:
  static constexpr Ops kOps{&destroy, &destroy_result};
  Type task_;
};

template <class Type>
executor_task* spawn_typed(const Type* task, const char* fn) noexcept {
  static_assert(std::is_copy_constructible_v<Type>,
                "EXECUTOR_EXPORT_TASK: the task type must be copy-constructible (spawn copies it)");
  if constexpr (TaskTraits<Type>::kCoroutine) {
    return spawn_state(task, &TypedState<Type>::make, &TypedState<Type>::make_root, fn);
  } else {
    return spawn_state(task, &TypedState<Type>::make, nullptr, fn);
  }
}

template <class Type>
void result_destroy_typed(c_result_t<Type>* result, const char* fn) noexcept {
  if constexpr (allocates_v<typename TypedState<Type>::Value>) {
    result_destroy(result, TypedState<Type>::type(), fn);
  } else {
    check_empty_result(result, fn);
  }
}

}  // namespace executor::detail::ffi

// Defines the C functions of task type `Type` (see ffi.h for their contracts). Follow it with a
// semicolon.
#define EXECUTOR_EXPORT_TASK(Type, spawn_name, wait_name, poll_name, cancel_name, cancelled_name, \
                             handle_destroy_name, result_destroy_name)                            \
  extern "C" EXECUTOR_FFI_EXPORT executor_task* spawn_name(const Type* task) noexcept {           \
    return ::executor::detail::ffi::spawn_typed<Type>(task, #spawn_name);                         \
  }                                                                                               \
  extern "C" EXECUTOR_FFI_EXPORT ::executor::detail::ffi::c_result_t<Type>* wait_name(            \
      executor_task* handle) noexcept {                                                           \
    return static_cast<::executor::detail::ffi::c_result_t<Type>*>(::executor::detail::ffi::wait( \
        handle, ::executor::detail::ffi::TypedState<Type>::type(), #wait_name));                  \
  }                                                                                               \
  extern "C" EXECUTOR_FFI_EXPORT ::executor::detail::ffi::c_result_t<Type>* poll_name(            \
      executor_task* handle) noexcept {                                                           \
    return static_cast<::executor::detail::ffi::c_result_t<Type>*>(::executor::detail::ffi::poll( \
        handle, ::executor::detail::ffi::TypedState<Type>::type(), #poll_name));                  \
  }                                                                                               \
  extern "C" EXECUTOR_FFI_EXPORT int cancel_name(executor_task* handle) noexcept {                \
    return ::executor::detail::ffi::cancel(                                                       \
        handle, ::executor::detail::ffi::TypedState<Type>::type(), #cancel_name);                 \
  }                                                                                               \
  extern "C" EXECUTOR_FFI_EXPORT int cancelled_name(executor_task* handle) noexcept {             \
    return ::executor::detail::ffi::cancelled(                                                    \
        handle, ::executor::detail::ffi::TypedState<Type>::type(), #cancelled_name);              \
  }                                                                                               \
  extern "C" EXECUTOR_FFI_EXPORT void handle_destroy_name(executor_task* handle) noexcept {       \
    ::executor::detail::ffi::handle_destroy(                                                      \
        handle, ::executor::detail::ffi::TypedState<Type>::type(), #handle_destroy_name);         \
  }                                                                                               \
  extern "C" EXECUTOR_FFI_EXPORT void result_destroy_name(                                        \
      ::executor::detail::ffi::c_result_t<Type>* result) noexcept {                               \
    ::executor::detail::ffi::result_destroy_typed<Type>(result, #result_destroy_name);            \
  }                                                                                               \
  static_assert(true, "")
