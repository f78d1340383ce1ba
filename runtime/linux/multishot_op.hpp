// What io::Acceptor (io_acceptor.cpp) and io::Receiver (io_receiver.cpp) share: the state of a
// multishot op as the waiting task meets it (MultishotOp), and the logic of the awaiter that
// waits for its next result (detail::MultishotNext, include/executor/detail/multishot_next.hpp).
//
// Design
// ------
// A multishot op's state is the IoOp plus a queue of results that more() fills, whether or not a
// task waits. One task at a time waits for the next result: it publishes its waker in the state
// (`waiting`), and whoever makes a result available — more(), complete(), the token's hook, the
// timer — takes the waker under the state's mutex and wakes it after unlocking. The awaiter never
// takes a result on the waker's side: after any wake it withdraws (timer, hook, waker) and looks
// at the queue itself, so a result that raced a timeout or a cancel is taken, and one that comes
// later stays queued for the next call.
//
//   ready():   closed / token cancelled / another waiter: an error; a queued result: taken
//   suspend(): a result arrived meanwhile: taken; else arm the op if it is not (D may refuse),
//              publish the waker, then arm the timer and hook the token (no lock held)
//   resume():  withdraw; a queued result, else kCancelled (hook fired), kDeadlineExceeded
//              (deadline passed) or D's own outcome
//   destroyed while suspended: withdraw, nothing taken (nothing is lost)
//
// The derived awaiter D (a friend of MultishotNext<D, State>) provides, called as noted:
//   bool take_locked()       under the mutex: takes the next result into D, if there is one
//   void fail(absl::Status)  stores an error as D's result
//   void took()              after a take, no lock held (the acceptor arms on)
//   bool refuse_locked()     under the mutex, nothing queued and the op cannot be armed: true
//                            (with an outcome stored) to return at once instead of waiting
//   void woke_empty()        woken with nothing queued, not cancelled, the deadline not passed
// and State (a MultishotOp): `bool can_arm() const` (under the mutex: may the op be armed now?),
// `bool should_move_locked()` (under the mutex, the task about to wait: true to have the armed
// op moved to this task's worker), `void move_now()` (then, with no lock held: stop the op; its
// final result re-arms it on a worker) and the names `kOpName` (in I/O errors), `kClosedError`
// and `kBusyError`.
//
// Locking: `*mu` guards the fields marked and everything the derived state keeps under it. Lock
// order: a worker ring's lock, then `*mu`; nothing is submitted or cancelled while holding it.
#pragma once

#include <cerrno>
#include <chrono>
#include <coroutine>
#include <mutex>

#include <absl/status/status.h>

#include <executor/detail/fd_ref.hpp>
#include <executor/detail/io_op.hpp>
#include <executor/detail/multishot_next.hpp>
#include <executor/detail/task_header.hpp>
#include <executor/detail/timer_node.hpp>
#include <executor/io/error.hpp>

namespace executor::detail {

struct MultishotOp : IoOp {
  // Holds a reference on the fd `r` until the state is freed.
  MultishotOp(std::mutex* m, FdRef* r) noexcept : mu(m), fd_ref(r) {
    fd_ref_acquire(r);
    fd = r->fd;
  }
  ~MultishotOp() { fd_ref_release(fd_ref); }

  std::mutex* const mu;  // the derived state's mutex
  FdRef* const fd_ref;
  Reactor* reactor = nullptr;  // set by the first arm (a task of that runtime)
  // --- under *mu ---
  Waker waker;             // the task waiting for the next result
  bool waiting = false;    // `waker` is published
  bool armed = false;      // the op is submitted and has not completed
  bool destroyed = false;  // the handle (Acceptor, Receiver) is gone

  // Under *mu: the waiting task's waker (empty if none waits), to wake or drop after unlocking.
  Waker take_waker_locked() noexcept {
    if (!waiting) return {};
    waiting = false;
    return std::move(waker);
  }
  // Under *mu: marks the op armed and routes it from this thread; the caller submits it after
  // unlocking (with the backend's reference counted).
  void prepare_arm_locked() noexcept {
    armed = true;
    routed = false;
    route_io(reactor, this);
  }
};

// The end of an op's complete(), with no lock held: wakes `w`, then submits the op again if
// `rearm` (prepared under the mutex; the backend's reference goes on with it), else drops the
// backend's reference.
inline void multishot_completed(MultishotOp* s, Waker& w, bool rearm) noexcept {
  w.wake();
  if (rearm) {
    submit_io(s->reactor, s);
  } else {
    io_op_unref(s);
  }
}

// Seams for a multishot op that follows its waiting task between workers (io::Receiver; the
// reactor implements them, reactor.cpp):
// True on a worker of `r` when `op` is in another worker's kernel ring and that worker is parked:
// every result would be reaped by the completion thread and cross to the task's worker. Call
// under the op's mutex (op->ring is settled there).
bool io_op_stranded(Reactor* r, const IoOp* op) noexcept;
// Any thread: ends the op early in its worker ring (WorkerRing::stop): its final result is > 0.
void stop_io(Reactor* r, IoOp* op) noexcept;
// True on a worker thread of `r`.
bool on_worker_of(Reactor* r) noexcept;
// Calls fn(arg, true) soon on one of r's workers (in a small task), or fn(arg, false) on some
// thread if that task could not be started or dies unrun (out of memory, runtime teardown):
// exactly one of the two, exactly once.
void run_on_worker(Reactor* r, void (*fn)(void*, bool), void* arg) noexcept;

// The handle's destructor: a waiter left behind (only a misuse) is dropped, the op is cancelled if
// armed (it completes with -ECANCELED or its real end, and the backend drops its reference), and
// the handle's reference goes.
void multishot_close(MultishotOp* s) noexcept;

// --- MultishotNext (the awaiter; see the essay above) -------------------------------------

template <class D, class State>
bool MultishotNext<D, State>::ready() {
  D& self = static_cast<D&>(*this);
  State* s = s_;
  if (s == nullptr) {
    self.fail(absl::FailedPreconditionError(State::kClosedError));
    return true;
  }
  if (this->token_.has_value() && this->token_->is_cancelled()) {
    self.fail(io_result_error(-ECANCELED, State::kOpName, s->fd));
    return true;
  }
  bool taken;
  {
    std::lock_guard lock(*s->mu);
    if (s->waiting) {
      self.fail(absl::FailedPreconditionError(State::kBusyError));
      return true;
    }
    taken = self.take_locked();
  }
  if (taken) self.took();
  return taken;
}

template <class D, class State>
bool MultishotNext<D, State>::suspend(std::coroutine_handle<> h) {
  D& self = static_cast<D&>(*this);
  State* s = s_;
  if (s->reactor == nullptr) s->reactor = current_reactor();
  bool has_deadline = this->has_deadline();
  bool arm = false;
  bool move = false;
  {
    std::lock_guard lock(*s->mu);
    if (self.take_locked()) return false;  // arrived meanwhile
    if (s->can_arm()) {
      s->prepare_arm_locked();
      io_op_ref(s);  // the backend's
      arm = true;
    } else if (self.refuse_locked()) {
      return false;
    }
    if (has_deadline && this->deadline_ <= std::chrono::steady_clock::now()) {
      self.fail(io_result_error(-ETIME, State::kOpName, s->fd));
    } else {
      Waker w = Waker::current(h);
      if (has_deadline) wait_.timer.waker = w.clone();  // first of the two wakes wins
      s->waker = std::move(w);
      s->waiting = true;
      wait_.hook.op = s;  // withdraw() and the hook find the op here
      wait_.suspended = true;
      move = !arm && s->should_move_locked();
    }
  }
  if (!wait_.suspended) {
    if (arm) submit_io(s->reactor, s);  // armed for the next call
    return false;
  }
  // Wakes from here on only mark the task (it is running): touching `this` stays safe.
  if (has_deadline) {
    wait_.timer.deadline = this->deadline_;
    wait_.timer_armed = true;
    timer_insert(&wait_.timer);
  }
  if (this->token_.has_value()) {
    if (cancel_state_link(this->token_->state_for_internal_use(), &wait_.hook)) {
      wait_.hooked = true;
    } else {
      MultishotCancelHook::fire(&wait_.hook);  // cancelled meanwhile
    }
  }
  if (arm) submit_io(s->reactor, s);
  if (move) s->move_now();  // stops it; its final result re-arms it on a worker (see State)
  return true;
}

template <class D, class State>
void MultishotNext<D, State>::resume() {
  if (!wait_.suspended) return;  // ready() or suspend() stored the outcome
  D& self = static_cast<D&>(*this);
  wait_.withdraw(this->token_);
  bool taken;
  {
    std::lock_guard lock(*s_->mu);
    taken = self.take_locked();
  }
  if (taken) {
    self.took();
  } else if (wait_.hook.fired) {  // withdraw() ordered the hook's write before this read
    self.fail(io_result_error(-ECANCELED, State::kOpName, s_->fd));
  } else if (this->has_deadline() && this->deadline_ <= std::chrono::steady_clock::now()) {
    self.fail(io_result_error(-ETIME, State::kOpName, s_->fd));
  } else {
    self.woke_empty();
  }
}

}  // namespace executor::detail
