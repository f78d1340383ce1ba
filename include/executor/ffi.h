/*
 * executor/ffi.h: the C API of executor (pure C11; also compiles as C++).
 *
 * C programs (and any language with a C FFI: Python ctypes, Go cgo, Rust) spawn tasks written in
 * C++ and monitor them: poll, wait, cancel, learn about completion from their own event loop.
 * The task functions themselves (`<name>_spawn`, `<name>_wait`, ...) are generated in a C++
 * library by EXECUTOR_EXPORT_TASK (<executor/ffi_export.hpp>); C code declares them with
 * EXECUTOR_DECLARE_TASK below. See docs/ffi.md for a complete example.
 *
 * Errors: a function that fails returns NULL (or -1) and sets the calling thread's last error,
 * a NUL-terminated UTF-8 message read with executor_last_error_length/_message. Every function
 * of this API that can fail clears the last error when it starts, so after any call the last
 * error is set if and only if that call failed.
 *
 * Thread safety: every function may be called from any thread, concurrently, including on the
 * same handle (except that a handle must not be used after a call that frees it: wait,
 * handle_destroy). The last error is per thread.
 *
 * Blocking: only <name>_wait blocks, and only the calling thread. No call of this API ever
 * blocks a runtime worker thread: called on one (from inside a task), wait fails instead.
 */
#ifndef EXECUTOR_FFI_H_
#define EXECUTOR_FFI_H_

#include <stddef.h>

/* Default visibility, so the symbols are exported from shared libraries built with
 * -fvisibility=hidden (libexecutor itself, and users' libraries using EXECUTOR_EXPORT_TASK). */
#if defined(__GNUC__)
#define EXECUTOR_FFI_EXPORT __attribute__((visibility("default")))
#else
#define EXECUTOR_FFI_EXPORT
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* A runtime created by executor_runtime_new. Opaque. */
typedef struct executor_runtime executor_runtime;
/* A handle to one spawned task (of any exported task type). Opaque. */
typedef struct executor_task executor_task;
/* Completion callback: see executor_task_set_callback. */
typedef void (*executor_task_callback)(void* user_data);

/* ---- Last error (per thread) ---------------------------------------------------------- */

/* Length of the last error message in bytes, including the terminating NUL; 0 if the last call
 * succeeded. */
EXECUTOR_FFI_EXPORT size_t executor_last_error_length(void);
/* Copies the last error message (NUL-terminated) into buf. Returns the bytes written including
 * the NUL (0 and an empty string if there is no error), or -1 if buf is NULL or len is smaller
 * than executor_last_error_length() (nothing is written then). Does not clear the error. */
EXECUTOR_FFI_EXPORT int executor_last_error_message(char* buf, size_t len);
/* Forgets the calling thread's last error. */
EXECUTOR_FFI_EXPORT void executor_clear_last_error(void);

/* ---- Runtimes ------------------------------------------------------------------------- */
/*
 * Coroutine tasks (`executor::Task<Output> run(executor::CancellationToken)`) run on a runtime's
 * worker threads; blocking tasks (`Output run(const executor::CancellationToken &)`) run on the
 * process-wide blocking pool and need no runtime.
 *
 * Lazy (the default): the first coroutine task spawned from C creates a runtime with one worker
 * per CPU (EXECUTOR_WORKERS overrides). It lives until the process exits. If the process already
 * has a C++ executor::Runtime, that one is used instead.
 *
 * Explicit: executor_runtime_new creates a runtime that coroutine tasks spawned afterwards use
 * (the most recently created live one wins) until executor_runtime_free.
 */

/* Creates a runtime with `workers` worker threads (0: one per CPU). NULL and the last error if
 * workers > 1024 or the runtime cannot start (for example io_uring is blocked by seccomp; the
 * message says how to fix it). */
EXECUTOR_FFI_EXPORT executor_runtime* executor_runtime_new(unsigned workers);
/* Destroys a runtime: cancels the token of every unfinished coroutine task spawned on it, stops
 * its threads, then destroys the tasks that have not finished; their handles report "cancelled"
 * (NULL and last error from wait/poll). Blocking tasks are not affected. Returns 0, or -1 and
 * the last error for NULL, an unknown or already freed runtime, or a call from one of its own
 * worker threads (a completion callback, say), which cannot stop itself. */
EXECUTOR_FFI_EXPORT int executor_runtime_free(executor_runtime* runtime);

/* ---- Completion notification (any task handle) ---------------------------------------- */

/* Returns 1 if the task has finished (with a value, an error or cancelled), 0 if not, -1 and
 * the last error for a NULL or unknown handle. Does not take the result. */
EXECUTOR_FFI_EXPORT int executor_task_is_finished(executor_task* task);
/* Registers `callback(user_data)` to run once when the task finishes; replaces a previous
 * registration (NULL callback: unregister). If the task already finished, runs it now on the
 * calling thread. Otherwise it runs on the thread that finishes the task (a runtime worker or a
 * blocking-pool thread): it must be short and must not block or call <name>_wait; it may call
 * poll, is_finished and handle_destroy (also on its own handle). After handle_destroy or wait
 * returns, the callback never starts again, and it is not running on another thread (unless
 * that thread is itself inside executor_task_set_callback for this handle, running it at once).
 * Returns 0, or -1 and the last error for a NULL or unknown handle. */
EXECUTOR_FFI_EXPORT int executor_task_set_callback(executor_task* task,
                                                   executor_task_callback callback,
                                                   void* user_data);
/* Returns an eventfd (non-blocking, close-on-exec) that becomes readable when the task finishes,
 * for poll/epoll/select loops. Created on the first call; later calls return the same fd. The
 * handle owns it: it is closed by handle_destroy or wait, so do not close it yourself (remove
 * it from your epoll set first). -1 and the last error for a bad handle or if eventfd fails. */
EXECUTOR_FFI_EXPORT int executor_task_eventfd(executor_task* task);

/* ---- Task families -------------------------------------------------------------------- */
/*
 * EXECUTOR_DECLARE_TASK declares, for C code, the functions that EXECUTOR_EXPORT_TASK defines in
 * a C++ library. `task_type` is the C view of the C++ task struct (same data members, so the
 * layouts match) and `result_type` the C view of its output (`void` when the task returns
 * nothing, an empty struct or absl::Status). Use it at file scope, followed by a semicolon:
 *
 *   typedef struct spin_task { long long limit; } spin_task;
 *   EXECUTOR_DECLARE_TASK(spin_task, long long, spin_spawn, spin_wait, spin_poll, spin_cancel,
 *                         spin_cancelled, spin_handle_destroy, spin_result_destroy);
 *
 * The functions:
 *   executor_task *spawn(const task_type *task)
 *       Copies *task and starts it. NULL and the last error if task is NULL, or the task cannot
 *       be started (no runtime, out of memory, no pool thread).
 *   result_type *poll(executor_task *handle)
 *       Finished with a value: returns the result and transfers its ownership to the caller
 *       (later polls and wait then fail with "the result was already taken"). Not finished:
 *       NULL, no last error. Failed or cancelled: NULL and the last error (the task's exception
 *       message or status, or "cancelled"). NULL handle or unknown handle: NULL and last error.
 *   result_type *wait(executor_task *handle)
 *       Blocks the calling thread until the task finishes, frees the handle, and returns the
 *       result as poll would (NULL and the last error on failure or cancellation). Refuses to
 *       block a runtime worker: from inside a task it fails and leaves the handle valid. While
 *       it waits the handle stays valid (another thread may cancel it); a second wait or a
 *       handle_destroy on it meanwhile fails and does nothing.
 *   int cancel(executor_task *handle)
 *       Requests cancellation (the task's CancellationToken is cancelled); returns 0, or -1 and
 *       the last error for a bad handle. A task that has not started yet never runs: it
 *       finishes at once as cancelled. A running task decides: it may return early with a
 *       partial result (wait then returns it) or fail. Idempotent.
 *   int cancelled(executor_task *handle)
 *       1 if cancellation was requested (by cancel, handle_destroy or executor_runtime_free),
 *       0 if not, -1 and the last error for a bad handle.
 *   void handle_destroy(executor_task *handle)
 *       Frees the handle. A task still running is asked to cancel and then detached: it
 *       finishes on its own and its result is discarded. A NULL, unknown or already destroyed
 *       handle sets the last error and does nothing else.
 *   void result_destroy(result_type *result)
 *       Frees a result returned by poll or wait. NULL is ignored. For tasks whose result has no
 *       data (`void`), results are not allocated and this does nothing. A result of another
 *       task type, one already destroyed or any other pointer sets the last error and frees
 *       nothing.
 *
 * Using a handle after wait or handle_destroy freed it is detected (handles are never reused)
 * and reported as "unknown handle". A handle passed to another task type's functions is
 * reported ("a task of another type") and left untouched.
 */
#define EXECUTOR_DECLARE_TASK(task_type, result_type, spawn, wait, poll, cancel, cancelled, \
                              handle_destroy, result_destroy)                               \
  executor_task* spawn(const task_type* task);                                              \
  result_type* wait(executor_task* handle);                                                 \
  result_type* poll(executor_task* handle);                                                 \
  int cancel(executor_task* handle);                                                        \
  int cancelled(executor_task* handle);                                                     \
  void handle_destroy(executor_task* handle);                                               \
  void result_destroy(result_type* result)

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* EXECUTOR_FFI_H_ */
