/* ffi.h must compile on its own as strict C11 (gcc -std=c11 -Wall -Wextra -pedantic -Werror)
 * and as C++; tests/ffi/extra.cmake compiles this file both ways. */
#include <executor/ffi.h>
#include <executor/ffi.h> /* include guard */

typedef struct check_task {
  int x;
} check_task;
typedef struct check_result {
  int y;
} check_result;

EXECUTOR_DECLARE_TASK(check_task, check_result, check_spawn, check_wait, check_poll, check_cancel,
                      check_cancelled, check_handle_destroy, check_result_destroy);
EXECUTOR_DECLARE_TASK(check_task, void, checkv_spawn, checkv_wait, checkv_poll, checkv_cancel,
                      checkv_cancelled, checkv_handle_destroy, checkv_result_destroy);

int header_check_uses(void);
int header_check_uses(void) {
  executor_task_callback cb = 0;
  executor_runtime* rt = 0;
  executor_task* t = 0;
  (void)cb;
  (void)rt;
  (void)t;
  return (int)executor_last_error_length();
}
