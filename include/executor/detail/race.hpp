// Child-task machinery shared by the combinators: racing one child against an event
// (executor::timeout: a deadline; executor::run_until_cancelled: a token), and owning several
// children (executor::when_all, executor::when_any).
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
//
// OwnedChildren<Ts...> (when_all, when_any) spawns one child per task, each wrapped by
// outcome_of() so that its join never throws its exception but returns it as a value stamped
// with a completion sequence number (first-to-finish and first-to-fail are decided from those).
// JoinAnyChild suspends until one more child finishes. Unlike race_child, the children are
// aborted if the combinator's own frame is destroyed before it joined them.
#pragma once

#include <array>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <optional>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>

#include <absl/status/status.h>
#include <absl/status/statusor.h>

#include <executor/detail/result.hpp>
#include <executor/detail/task_header.hpp>
#include <executor/export.hpp>
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

// --- Awaitables in general ------------------------------------------------------------------

// The awaiter `co_await a` would use: a's member or free operator co_await, or `a` itself.
template <class A>
decltype(auto) get_awaiter(A&& a) {
  if constexpr (requires { static_cast<A&&>(a).operator co_await(); }) {
    return static_cast<A&&>(a).operator co_await();
  } else if constexpr (requires { operator co_await(static_cast<A&&>(a)); }) {
    return operator co_await(static_cast<A&&>(a));
  } else {
    return static_cast<A&&>(a);
  }
}

// The type `co_await std::move(a)` yields (references decay: a child task stores a value).
template <class A>
using await_result_t =
    std::conditional_t<std::is_void_v<decltype(get_awaiter(std::declval<A&&>()).await_resume())>,
                       void,
                       std::decay_t<decltype(get_awaiter(std::declval<A&&>()).await_resume())>>;

// Wraps any awaitable in a Task (the awaitable is moved into the frame).
template <class A>
auto await_in_task(A awaitable) -> Task<await_result_t<A>> {
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

template <class A>
using as_task_t = decltype(as_task(std::declval<A&&>()));

// --- Child tasks of when_all / when_any ----------------------------------------------------

// What a child produced, without throwing across the join: a value (std::monostate for void)
// or an exception, stamped with a process-wide completion sequence number so that the parent
// can tell which child finished (or failed) first.
template <class T>
struct Outcome {
  using Value = std::conditional_t<std::is_void_v<T>, std::monostate, T>;
  std::optional<Value> value;
  std::exception_ptr error;
  std::uint64_t seq = 0;
};

EXECUTOR_API std::uint64_t next_completion_seq() noexcept;  // src/combinators.cpp

template <class T>
Task<Outcome<T>> outcome_of(Task<T> task) {
  Outcome<T> o;
  try {
    if constexpr (std::is_void_v<T>) {
      co_await std::move(task);
      o.value.emplace();
    } else {
      T v = co_await std::move(task);
      o.value.emplace(std::move(v));
    }
  } catch (...) {
    o.error = std::current_exception();
  }
  o.seq = next_completion_seq();
  co_return o;
}

// A combinator's children. If the combinator's frame is destroyed before it joined them (the
// combinator was itself cancelled), the children it still owns are aborted, not left running.
template <class... Ts>
struct OwnedChildren {
  static constexpr std::size_t N = sizeof...(Ts);
  using Handles = std::tuple<JoinHandle<Outcome<Ts>>...>;
  using Outcomes = std::tuple<std::optional<Outcome<Ts>>...>;

  OwnedChildren() noexcept = default;
  OwnedChildren(const OwnedChildren&) = delete;
  OwnedChildren& operator=(const OwnedChildren&) = delete;
  ~OwnedChildren() { abort_all(); }

  // Spawns every task (in order). If a spawn throws, the children already spawned are aborted
  // by the destructor and the remaining tasks are destroyed unstarted.
  void spawn_all(Task<Ts>... tasks) { spawn_each(std::index_sequence_for<Ts...>{}, tasks...); }

  void abort_all() noexcept {
    std::apply([](auto&... h) { (h.abort_for_combinator(), ...); }, handles);
  }
  bool all_finished() const noexcept {
    return std::apply([](const auto&... h) { return (h.is_finished() && ...); }, handles);
  }
  // Takes every child's outcome; all must have finished. nullopt: the child was cancelled.
  Outcomes harvest() {
    return std::apply([](auto&... h) { return Outcomes(take(h)...); }, handles);
  }

  Handles handles;

 private:
  template <std::size_t... I>
  void spawn_each(std::index_sequence<I...>, Task<Ts>&... tasks) {
    ((std::get<I>(handles) = spawn(outcome_of(std::move(tasks)))), ...);
  }
  template <class T>
  static std::optional<Outcome<T>> take(JoinHandle<Outcome<T>>& h) {
    auto aw = h.join();  // finished: the join completes synchronously
    try {
      return aw.await_resume();
    } catch (const TaskCancelled&) {
      return std::nullopt;
    }
  }
};

// Suspends until one of the children that had not finished when this awaiter was created
// finishes (one waker, cloned onto each: the first completion wins, the others are stale).
template <class... Ts>
class JoinAnyChild {
 public:
  static constexpr std::size_t N = sizeof...(Ts);
  explicit JoinAnyChild(std::tuple<JoinHandle<Outcome<Ts>>...>& hs) noexcept : hs_(hs) {
    for_each([&](std::size_t i, auto& h) { watch_[i] = h.valid() && !h.is_finished(); });
  }
  JoinAnyChild(const JoinAnyChild&) = delete;
  JoinAnyChild& operator=(const JoinAnyChild&) = delete;
  ~JoinAnyChild() { withdraw(); }

  bool await_ready() const noexcept {
    bool any_watched = false;
    bool any_done = false;
    for_each([&](std::size_t i, auto& h) {
      if (!watch_[i]) return;
      any_watched = true;
      any_done = any_done || h.is_finished();
    });
    return !any_watched || any_done;
  }
  bool await_suspend(std::coroutine_handle<> c) {
    Waker w = Waker::current(c);
    bool suspend = true;
    for_each([&](std::size_t i, auto& h) {
      if (!suspend || !watch_[i]) return;
      if (h.set_waker_for_combinator(w.clone())) {
        registered_[i] = true;
      } else {
        suspend = false;  // it finished meanwhile
      }
    });
    if (!suspend) withdraw();  // take every published clone back before not suspending
    return suspend;            // `w` itself was never published; it is dropped here
  }
  void await_resume() noexcept { withdraw(); }

 private:
  template <class F>
  void for_each(F&& f) const {
    for_each_impl(std::forward<F>(f), std::index_sequence_for<Ts...>{});
  }
  template <class F, std::size_t... I>
  void for_each_impl(F&& f, std::index_sequence<I...>) const {
    (f(I, std::get<I>(hs_)), ...);
  }
  void withdraw() noexcept {
    for_each([&](std::size_t i, auto& h) {
      if (registered_[i]) {
        h.clear_waker_for_combinator();
        registered_[i] = false;
      }
    });
  }

  std::tuple<JoinHandle<Outcome<Ts>>...>& hs_;
  std::array<bool, N> watch_{};
  std::array<bool, N> registered_{};
};

}  // namespace executor::detail
