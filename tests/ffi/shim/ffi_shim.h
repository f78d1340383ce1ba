/* The C view of the test shim's tasks (tests/ffi/shim/ffi_shim.cpp), shared by the C program
 * (tests/ffi/c/ffi_c_test.c) and mirrored by the Python test. Pure C11. */
#ifndef EXECUTOR_TESTS_FFI_SHIM_H_
#define EXECUTOR_TESTS_FFI_SHIM_H_

#include <stdint.h>

#include <executor/ffi.h>

/* Counts until cancelled (or up to `limit` if non-zero); returns the count. Blocking form. */
typedef struct spin_task {
  int64_t limit;
} spin_task;

/* mode 0: returns value * 2; 1: throws std::runtime_error("fallible: asked to throw");
 * 2: returns absl::InvalidArgumentError("fallible: asked to fail"). Blocking form. */
typedef struct fallible_task {
  int32_t mode;
  int32_t value;
} fallible_task;
typedef struct fallible_result {
  int32_t doubled;
} fallible_result;

/* Coroutine form: waits `ms` milliseconds or until cancelled; returns 1 if it was cancelled,
 * else 0. */
typedef struct sleeper_task {
  int32_t ms;
} sleeper_task;

/* Blocking form with no result (void): increments a counter read by shim_nothing_runs(). */
typedef struct nothing_task {
  int32_t unused;
} nothing_task;

#ifndef __cplusplus
EXECUTOR_DECLARE_TASK(spin_task, int64_t, spin_spawn, spin_wait, spin_poll, spin_cancel,
                      spin_cancelled, spin_handle_destroy, spin_result_destroy);
EXECUTOR_DECLARE_TASK(fallible_task, fallible_result, fallible_spawn, fallible_wait, fallible_poll,
                      fallible_cancel, fallible_cancelled, fallible_handle_destroy,
                      fallible_result_destroy);
EXECUTOR_DECLARE_TASK(sleeper_task, int32_t, sleeper_spawn, sleeper_wait, sleeper_poll,
                      sleeper_cancel, sleeper_cancelled, sleeper_handle_destroy,
                      sleeper_result_destroy);
EXECUTOR_DECLARE_TASK(nothing_task, void, nothing_spawn, nothing_wait, nothing_poll, nothing_cancel,
                      nothing_cancelled, nothing_handle_destroy, nothing_result_destroy);
int64_t shim_nothing_runs(void);
/* How many spin / sleeper tasks have started running (a cancel before a task starts means it
 * never runs: tests that want a result from a cancelled task wait for the start first). */
int64_t shim_spin_started(void);
int64_t shim_sleeper_started(void);
#endif

#endif /* EXECUTOR_TESTS_FFI_SHIM_H_ */
