// The non-template part of multishot_op.hpp: the awaiter's withdrawal and token hook, and the
// handles' destructor.
#include "multishot_op.hpp"

namespace executor::detail {

void MultishotRegistration::withdraw(const std::optional<CancellationToken>& token) noexcept {
  suspended = false;
  if (timer_armed) timer_cancel(&timer);
  timer_armed = false;
  // Waits for a callback another thread is running right now.
  if (hooked) cancel_state_unregister(token->state_for_internal_use(), &hook);
  hooked = false;
  MultishotOp* s = hook.op;
  Waker w;
  std::lock_guard lock(*s->mu);
  w = s->take_waker_locked();
  // `w` drops after the unlock (declared first, destroyed last).
}

void MultishotCancelHook::fire(CancelCallbackNode* n) noexcept {
  auto* hook = static_cast<MultishotCancelHook*>(n);
  MultishotOp* s = hook->op;
  Waker w;
  {
    std::lock_guard lock(*s->mu);
    hook->fired = true;
    w = s->take_waker_locked();
  }
  w.wake();
}

void multishot_close(MultishotOp* s) noexcept {
  bool cancel;
  Waker w;
  {
    std::lock_guard lock(*s->mu);
    s->destroyed = true;
    cancel = s->armed;
    w = s->take_waker_locked();  // only a misuse leaves a waiter behind
  }
  w.drop();
  // The op completes with -ECANCELED (or its real end) and the backend drops its reference.
  if (cancel) cancel_io(s->reactor, s);
  io_op_unref(s);
}

}  // namespace executor::detail
