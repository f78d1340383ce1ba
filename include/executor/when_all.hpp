// executor::when_all(a, b, ...): runs awaitables concurrently and waits for all of them.
//
//   auto [user, prefs] = co_await executor::when_all(load_user(id), load_prefs(id));
//   co_await executor::when_all(flush_log(), executor::sleep(10ms));   // tuple of monostate
//
// Result: std::tuple of the results in argument order; a void awaitable contributes
// std::monostate. If any awaitable throws, when_all still waits for all of them to finish and
// then rethrows the exception that was thrown *first* (in time); the other results and
// exceptions are discarded. when_all() with no arguments yields std::tuple<> at once.
//
// How: nothing starts until the returned Task is awaited (or spawned); then every awaitable runs
// as a child task, concurrently with the others (on any worker). Any awaitable works: Tasks,
// sleep(), token.cancelled(), JoinHandles (moved in), other combinators; arguments are taken by
// value, so pass temporaries or std::move.
//
// Cancellation: if the coroutine awaiting when_all is destroyed while suspended (for example by
// an enclosing timeout or when_any), the children are aborted: each child's frame is destroyed at
// its current suspension point (see docs/cancellation.md for what that means per awaitable).
// Errors: as executor::spawn when the children cannot be spawned (no runtime: std::logic_error;
// std::bad_alloc); children spawned before the failure are aborted.
// Memory: one task cell per awaitable (plus a wrapper frame for non-Task awaitables).
#pragma once

#include <exception>
#include <optional>
#include <tuple>
#include <type_traits>
#include <utility>

#include <executor/detail/race.hpp>
#include <executor/task.hpp>

namespace executor {

namespace detail {

template <class... Ts>
Task<std::tuple<typename Outcome<Ts>::Value...>> when_all_tasks(Task<Ts>... tasks) {
  OwnedChildren<Ts...> children;
  children.spawn_all(std::move(tasks)...);
  while (!children.all_finished()) co_await JoinAnyChild<Ts...>(children.handles);
  auto outcomes = children.harvest();

  // The first failure in time, if any; a cancelled child (runtime teardown) counts as one.
  std::exception_ptr first;
  std::uint64_t first_seq = ~std::uint64_t{0};
  bool cancelled = false;
  std::apply(
      [&](auto&... o) {
        auto visit = [&](auto& oc) {
          if (!oc) {
            cancelled = true;
          } else if (oc->error && oc->seq < first_seq) {
            first = oc->error;
            first_seq = oc->seq;
          }
        };
        (visit(o), ...);
        (void)visit;  // an empty pack does not use it
      },
      outcomes);
  if (first) std::rethrow_exception(first);
  if (cancelled) throw TaskCancelled();
  co_return std::apply(
      [](auto&... o) {
        return std::tuple<typename Outcome<Ts>::Value...>(std::move(*o->value)...);
      },
      outcomes);
}

}  // namespace detail

template <class... As>
[[nodiscard]] auto when_all(As... awaitables) {
  return detail::when_all_tasks(detail::as_task(std::move(awaitables))...);
}

}  // namespace executor
