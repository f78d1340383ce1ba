// Racing a child task against an event: the machinery shared by executor::timeout (the event is
// a deadline) and executor::run_until_cancelled (the event is a cancellation token).
//
// race_child<Event>(task, event args...) spawns `task` as a child, suspends until the child
// finishes or the event fires (one Waker, cloned: the first wake wins, the other is stale), and
// then:
//   * child finished first (or in the same instant): its value is returned, its exception
//     rethrown;
//   * event first: the child is aborted (abort_for_combinator: its frame is destroyed by a worker
//     at its current suspension point) and joined, so its resources are released before the
//     caller continues; the result is Event::status(). If the child completed while being
//     aborted, its result wins: a produced value is never dropped.
// If the awaiting coroutine is itself destroyed while suspended, both registrations are
// withdrawn and the child runs on detached.
//
// An Event is constructed in race_child's frame (its intrusive nodes never move) and provides:
//   bool fired() const noexcept;   // has it happened already?
//   bool arm(Waker w);             // publish `w`; false (w dropped) if it fired meanwhile
//   void disarm() noexcept;        // withdraw; safe when fired, armed or never armed
//   static absl::Status status();  // the result when the event wins
#pragma once

#include <coroutine>
#include <type_traits>
#include <utility>

#include <absl/status/status.h>
#include <absl/status/statusor.h>

#include <executor/detail/task_header.hpp>
#include <executor/join_handle.hpp>
#include <executor/spawn.hpp>
#include <executor/task.hpp>

namespace executor::detail {

// Suspends until the task behind `h` completes or `ev` fires, whichever is first.
template <class T, class Event>
class JoinOrEvent {
 public:
  JoinOrEvent(JoinHandle<T>& h, Event& ev) noexcept : h_(h), ev_(ev) {}
  JoinOrEvent(const JoinOrEvent&) = delete;
  JoinOrEvent& operator=(const JoinOrEvent&) = delete;
  ~JoinOrEvent() { withdraw(); }

  bool await_ready() const noexcept { return h_.is_finished() || ev_.fired(); }
  bool await_suspend(std::coroutine_handle<> c) {
    Waker w = Waker::current(c);
    Waker event_waker = w.clone();
    if (!h_.set_waker_for_combinator(std::move(w))) return false;  // finished meanwhile
    join_registered_ = true;
    // A wake during this run only sets a flag, so touching the awaiter after publishing the join
    // waker is safe; if the event already fired, take the join waker back before not suspending.
    if (!ev_.arm(std::move(event_waker))) {
      withdraw();
      return false;
    }
    return true;
  }
  void await_resume() noexcept { withdraw(); }

 private:
  void withdraw() noexcept {
    ev_.disarm();
    if (join_registered_) {
      h_.clear_waker_for_combinator();
      join_registered_ = false;
    }
  }
  JoinHandle<T>& h_;
  Event& ev_;
  bool join_registered_ = false;
};

template <class T>
using StatusResult = std::conditional_t<std::is_void_v<T>, absl::Status, absl::StatusOr<T>>;

enum class IfFiredAtStart {
  kRaceAnyway,  // start the child and give it its chance (timeout with a past deadline)
  kDontStart,   // return Event::status() without starting the child (a cancelled token)
};

template <class Event, class T, class... EventArgs>
Task<StatusResult<T>> race_child(IfFiredAtStart policy, Task<T> task, EventArgs... args) {
  Event ev(std::move(args)...);
  if (policy == IfFiredAtStart::kDontStart && ev.fired()) co_return Event::status();
  JoinHandle<T> h = spawn(std::move(task));
  co_await JoinOrEvent<T, Event>(h, ev);
  const bool event_won = !h.is_finished();
  if (event_won) h.abort_for_combinator();
  try {
    if constexpr (std::is_void_v<T>) {
      co_await std::move(h);
      co_return absl::OkStatus();
    } else {
      co_return co_await std::move(h);
    }
  } catch (const TaskCancelled&) {
    if (!event_won) throw;
  }
  co_return Event::status();
}

// Wraps any awaitable in a Task (the awaitable is moved into the frame).
template <class A>
auto await_in_task(A awaitable) -> Task<decltype(std::declval<A&&>().await_resume())> {
  co_return co_await std::move(awaitable);
}

template <class A>
decltype(auto) as_task(A&& a) {
  if constexpr (is_task_v<std::decay_t<A>>) {
    return std::forward<A>(a);
  } else {
    return await_in_task(std::forward<A>(a));
  }
}

}  // namespace executor::detail
