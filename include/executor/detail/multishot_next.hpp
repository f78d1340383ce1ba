// The part of a multishot operation's "await the next result" awaiter that waits:
// io::AcceptNextOperation (Acceptor::accept()) and io::NextOperation (Receiver::next()) derive
// from MultishotNext. It holds the deadline and the cancellation token (with the builders
// `.timeout(d)`, `.deadline(t)` and `.cancel_on(token)`, from BoundedAwait), the timer and the
// token's hook, all embedded in the awaiter (no allocation).
//
// The logic is the library's (runtime/linux/multishot_op.hpp, with the op's shared state
// MultishotOp): the derived awaiter's await_ready/await_suspend/await_resume call ready(),
// suspend() and resume() and add only what is specific to it (what a result is, when the op is
// armed). Destroying an awaiter while it is suspended withdraws it (~MultishotNext). Users never
// name these types.
#pragma once

#include <coroutine>
#include <optional>
#include <utility>

#include <executor/cancellation_token.hpp>
#include <executor/detail/bounded_await.hpp>
#include <executor/detail/timer_node.hpp>
#include <executor/export.hpp>

namespace executor::detail {

struct MultishotOp;  // runtime/linux/multishot_op.hpp

// The awaiter's registration with its CancellationToken: marks it cancelled and wakes the task.
struct MultishotCancelHook : CancelCallbackNode {
  MultishotCancelHook() noexcept : CancelCallbackNode(&fire) {}
  EXECUTOR_API static void fire(CancelCallbackNode* n) noexcept;
  MultishotOp* op = nullptr;  // the op the awaiter waits on: set when it publishes its waker
  bool fired = false;         // written under the op's lock; read after the hook is unregistered
};

// What a suspended awaiter registered: its waker in the op (`hook.op`), the timer, the hook.
struct EXECUTOR_API MultishotRegistration {
  // Cancels the timer, unregisters the hook from `token` and takes the waker back.
  void withdraw(const std::optional<CancellationToken>& token) noexcept;

  TimerNode timer;
  MultishotCancelHook hook;
  bool suspended = false;
  bool timer_armed = false;
  bool hooked = false;
};

// CRTP base: D is the awaiter, State its op's state (a MultishotOp). Movable until awaited.
template <class D, class State>
class MultishotNext : public BoundedAwait<D> {
 protected:
  explicit MultishotNext(State* s) noexcept : s_(s) {}
  MultishotNext(MultishotNext&& o) noexcept
      : BoundedAwait<D>(std::move(o)), s_(std::exchange(o.s_, nullptr)) {}
  ~MultishotNext() {
    if (wait_.suspended) wait_.withdraw(this->token_);  // destroyed while suspended: loses nothing
  }
  // Defined by the library (runtime/linux/multishot_op.hpp), instantiated where D's members are.
  bool ready();
  bool suspend(std::coroutine_handle<> h);
  void resume();

  State* s_;
  MultishotRegistration wait_;
};

}  // namespace executor::detail
