/* A C11 program (compiled as C, -pedantic) driving tasks exported from a C++ shim library with
 * EXECUTOR_EXPORT_TASK: spawn/poll/cancel/wait/destroy, results and error messages, bad input,
 * explicit and lazy runtimes, the completion callback and eventfd, and several C threads.
 * Exit code 0 on success; each failed check prints its line. */
#define _POSIX_C_SOURCE 200809L
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ffi_shim.h"

static int failures = 0;

#define CHECK(cond)                                                            \
  do {                                                                         \
    if (!(cond)) {                                                             \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
      ++failures;                                                              \
    }                                                                          \
  } while (0)

/* The last error as a static string ("" if none). */
static const char* last_error(void) {
  static _Thread_local char buf[512]; /* several test threads call this at once */
  size_t n = executor_last_error_length();
  if (n == 0) return "";
  if (n > sizeof buf || executor_last_error_message(buf, sizeof buf) != (int)n) return "<?>";
  return buf;
}

static void sleep_ms(long ms) {
  struct timespec ts;
  ts.tv_sec = ms / 1000;
  ts.tv_nsec = (ms % 1000) * 1000000L;
  nanosleep(&ts, NULL);
}

/* Spawns a spin task and waits until it runs (cancelling earlier would mean it never runs). */
static executor_task* spawn_running_spin(const spin_task* t) {
  int64_t started = shim_spin_started();
  executor_task* h = spin_spawn(t);
  int i;
  for (i = 0; i < 10000 && shim_spin_started() == started; ++i) sleep_ms(1);
  CHECK(shim_spin_started() > started);
  return h;
}

static executor_task* spawn_running_sleeper(const sleeper_task* t) {
  int64_t started = shim_sleeper_started();
  executor_task* h = sleeper_spawn(t);
  int i;
  for (i = 0; i < 10000 && shim_sleeper_started() == started; ++i) sleep_ms(1);
  CHECK(shim_sleeper_started() > started);
  return h;
}

static void test_last_error(void) {
  char small[4];
  executor_clear_last_error();
  CHECK(executor_last_error_length() == 0);
  CHECK(spin_spawn(NULL) == NULL);
  CHECK(strcmp(last_error(), "spin_spawn: the task is NULL") == 0);
  CHECK(executor_last_error_message(small, sizeof small) == -1);
  CHECK(executor_last_error_message(NULL, 100) == -1);
  executor_clear_last_error();
  CHECK(executor_last_error_length() == 0);
}

static void test_spin(void) {
  spin_task t;
  executor_task* h;
  int64_t* count;
  t.limit = 0; /* until cancelled */
  h = spawn_running_spin(&t);
  CHECK(h != NULL);
  CHECK(spin_poll(h) == NULL);
  CHECK(executor_last_error_length() == 0); /* not finished is not an error */
  CHECK(spin_cancelled(h) == 0);
  CHECK(spin_cancel(h) == 0);
  CHECK(spin_cancelled(h) == 1);
  count = spin_wait(h);
  CHECK(count != NULL);
  if (count != NULL) CHECK(*count >= 0);
  spin_result_destroy(count);

  t.limit = 12345;
  count = spin_wait(spin_spawn(&t));
  CHECK(count != NULL && *count == 12345);
  spin_result_destroy(count);
}

static void test_fallible(void) {
  fallible_task t;
  fallible_result* r;
  t.mode = 0;
  t.value = 21;
  r = fallible_wait(fallible_spawn(&t));
  CHECK(r != NULL && r->doubled == 42);
  fallible_result_destroy(r);

  t.mode = 1;
  CHECK(fallible_wait(fallible_spawn(&t)) == NULL);
  CHECK(strcmp(last_error(), "fallible: asked to throw") == 0);

  t.mode = 2;
  CHECK(fallible_wait(fallible_spawn(&t)) == NULL);
  CHECK(strcmp(last_error(), "INVALID_ARGUMENT: fallible: asked to fail") == 0);
}

static void test_nothing(void) {
  nothing_task t;
  int64_t before = shim_nothing_runs();
  void* r;
  t.unused = 0;
  r = nothing_wait(nothing_spawn(&t));
  CHECK(r != NULL); /* success, but nothing allocated */
  nothing_result_destroy(r);
  CHECK(shim_nothing_runs() == before + 1);
}

static void test_bad_input(void) {
  spin_task t;
  executor_task* h;
  t.limit = 10;
  CHECK(spin_wait(NULL) == NULL && strstr(last_error(), "NULL") != NULL);
  CHECK(spin_poll(NULL) == NULL && strstr(last_error(), "NULL") != NULL);
  CHECK(spin_cancel(NULL) == -1);
  CHECK(spin_cancelled(NULL) == -1);
  spin_handle_destroy(NULL);
  CHECK(executor_last_error_length() > 0);

  h = spin_spawn(&t);
  spin_handle_destroy(h);
  CHECK(executor_last_error_length() == 0);
  spin_handle_destroy(h); /* double destroy */
  CHECK(strstr(last_error(), "unknown task handle") != NULL);
  CHECK(spin_wait(h) == NULL); /* wait after destroy */
  CHECK(strstr(last_error(), "unknown task handle") != NULL);

  /* Destroying a running task cancels and detaches it: no hang, nothing leaks (ASan). */
  t.limit = 0;
  h = spin_spawn(&t);
  CHECK(h != NULL);
  spin_handle_destroy(h);
  CHECK(executor_last_error_length() == 0);
}

static atomic_int callback_calls;
static void on_complete(void* user_data) {
  CHECK(user_data == (void*)&callback_calls);
  atomic_fetch_add(&callback_calls, 1);
}

static void test_notification(void) {
  spin_task t;
  executor_task* h;
  struct pollfd p;
  int fd, i;
  int64_t* r;
  t.limit = 0;
  h = spawn_running_spin(&t);
  CHECK(executor_task_set_callback(h, on_complete, &callback_calls) == 0);
  fd = executor_task_eventfd(h);
  CHECK(fd >= 0);
  p.fd = fd;
  p.events = POLLIN;
  p.revents = 0;
  CHECK(poll(&p, 1, 0) == 0);
  CHECK(executor_task_is_finished(h) == 0);
  spin_cancel(h);
  CHECK(poll(&p, 1, 10000) == 1); /* what a C event loop would do */
  CHECK(executor_task_is_finished(h) == 1);
  r = spin_poll(h);
  CHECK(r != NULL);
  spin_result_destroy(r);
  for (i = 0; i < 10000 && atomic_load(&callback_calls) == 0; ++i) sleep_ms(1);
  CHECK(atomic_load(&callback_calls) == 1);
  spin_handle_destroy(h);
}

static void test_runtimes(void) {
  sleeper_task t;
  executor_task* h;
  int32_t* r;
  executor_runtime* rt = executor_runtime_new(2);
  CHECK(rt != NULL);
  t.ms = 60000;
  h = spawn_running_sleeper(&t);
  CHECK(h != NULL);
  CHECK(sleeper_poll(h) == NULL && executor_last_error_length() == 0);
  CHECK(sleeper_cancel(h) == 0);
  r = sleeper_wait(h);
  CHECK(r != NULL && *r == 1); /* it noticed the cancellation */
  sleeper_result_destroy(r);

  /* Freeing a runtime under an unfinished task: its token is cancelled, then the runtime is
   * destroyed. The task either noticed in time (returns 1) or reports "cancelled": destroyed
   * with the runtime, or, if a worker took it only after the token was cancelled, cancelled
   * before it started. */
  h = sleeper_spawn(&t);
  CHECK(executor_runtime_free(rt) == 0);
  r = sleeper_wait(h);
  if (r == NULL) {
    CHECK(strstr(last_error(), "runtime was destroyed") != NULL ||
          strcmp(last_error(), "task was cancelled before it started") == 0);
  } else {
    CHECK(*r == 1);
  }
  sleeper_result_destroy(r);
  CHECK(executor_runtime_free(rt) == -1);

  /* No explicit runtime any more: the lazy one. */
  t.ms = 1;
  r = sleeper_wait(sleeper_spawn(&t));
  CHECK(r != NULL && *r == 0);
  sleeper_result_destroy(r);
}

static void* thread_main(void* arg) {
  int i;
  long id = (long)arg;
  for (i = 0; i < 40; ++i) {
    spin_task s;
    fallible_task f;
    executor_task* h;
    int64_t* c;
    fallible_result* r;
    s.limit = (i % 2) ? 0 : 1000;
    h = spin_spawn(&s);
    if ((i + id) % 3 == 0) {
      spin_handle_destroy(h);
      continue;
    }
    spin_cancel(h);
    c = spin_wait(h);
    CHECK(c != NULL || strstr(last_error(), "cancelled") != NULL);
    spin_result_destroy(c);
    f.mode = i % 3;
    f.value = i;
    r = fallible_wait(fallible_spawn(&f));
    CHECK((r != NULL) == (f.mode == 0));
    if (r != NULL) CHECK(r->doubled == 2 * i);
    fallible_result_destroy(r);
  }
  return NULL;
}

/* A task cancelled before it starts never runs and reports it. */
static void test_cancel_before_start(void) {
  executor_task* h;
  executor_runtime* rt = executor_runtime_new(1);
  sleeper_task t;
  int i, cancelled_early = 0;
  t.ms = 60000;
  /* Spawn and cancel at once, many times: each one either never started (NULL and the message)
   * or started and noticed the token (returns 1). */
  for (i = 0; i < 50; ++i) {
    int32_t* r;
    h = sleeper_spawn(&t);
    CHECK(sleeper_cancel(h) == 0);
    r = sleeper_wait(h);
    if (r == NULL) {
      CHECK(strcmp(last_error(), "task was cancelled before it started") == 0);
      ++cancelled_early;
    } else {
      CHECK(*r == 1);
    }
    sleeper_result_destroy(r);
  }
  (void)cancelled_early;
  CHECK(executor_runtime_free(rt) == 0);
}

static void test_threads(void) {
  pthread_t threads[4];
  long i;
  for (i = 0; i < 4; ++i) CHECK(pthread_create(&threads[i], NULL, thread_main, (void*)i) == 0);
  for (i = 0; i < 4; ++i) pthread_join(threads[i], NULL);
}

int main(void) {
  test_last_error();
  test_spin();
  test_fallible();
  test_nothing();
  test_bad_input();
  test_notification();
  test_runtimes();
  test_cancel_before_start();
  test_threads();
  if (failures != 0) {
    fprintf(stderr, "%d check(s) failed\n", failures);
    return 1;
  }
  printf("ffi C program: all checks passed\n");
  return 0;
}
