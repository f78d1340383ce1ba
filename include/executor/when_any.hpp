// executor::when_any(a, b, ...): runs awaitables concurrently; the first to finish wins.
//
//   auto r = co_await executor::when_any(read_reply(conn), executor::sleep(1s));
//   if (r.index() == 0) handle(std::get<0>(r)); else retry();
//
// Result: std::variant whose active index is the winner's argument position, holding its result
// (std::monostate for a void awaitable; alternatives may repeat types: use index()). If the
// winner finished by throwing, that exception is rethrown. "Finish" means return or throw,
// whichever happens first among all awaitables.
//
// The losers are cancelled cleanly before when_any returns: each loser's child task is aborted
// (its frame destroyed at its current suspension point by a worker, never while it runs) and
// joined, so everything it held is released when when_any returns; a loser's result (or
// exception), if it finished anyway in the meantime, is discarded: a loser that consumes a value
// (rx.recv(), popper.pop()) may have taken one, which is then destroyed. What "cancelled" means for
// each kind of awaitable (timers disarmed, waiters unlinked, joined tasks detached, ...) is
// listed in docs/cancellation.md. A loser busy in a long synchronous slice delays when_any until
// it next suspends.
//
// How: nothing starts until the returned Task is awaited (or spawned); then every awaitable runs
// as a child task (arguments are taken by value). At least one awaitable is required.
// Cancellation: if the coroutine awaiting when_any is destroyed while suspended, all children
// are aborted. Errors: as executor::spawn when the children cannot be spawned; children spawned
// before the failure are aborted.
// Memory: one task cell per awaitable (plus a wrapper frame for non-Task awaitables).
#pragma once

#include <cstddef>
#include <cstdint>
#include <exception>
#include <optional>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>

#include <executor/detail/race.hpp>
#include <executor/task.hpp>

namespace executor {

namespace detail {

template <class... Ts>
Task<std::variant<typename Outcome<Ts>::Value...>> when_any_tasks(Task<Ts>... tasks) {
  using Variant = std::variant<typename Outcome<Ts>::Value...>;
  OwnedChildren<Ts...> children;
  children.spawn_all(std::move(tasks)...);
  co_await JoinAnyChild<Ts...>(children.handles);  // someone finished
  children.abort_all();                            // the others lose (no-op for finished ones)
  while (!children.all_finished()) co_await JoinAnyChild<Ts...>(children.handles);
  auto outcomes = children.harvest();

  // The winner: the child that finished first (smallest completion stamp). Losers that were
  // aborted have no outcome; losers that finished while being aborted have a later stamp.
  std::size_t winner = sizeof...(Ts);
  std::uint64_t best = ~std::uint64_t{0};
  std::apply(
      [&](auto&... o) {
        std::size_t i = 0;
        auto visit = [&](auto& oc) {
          if (oc && oc->seq < best) {
            best = oc->seq;
            winner = i;
          }
          ++i;
        };
        (visit(o), ...);
      },
      outcomes);
  if (winner == sizeof...(Ts)) throw TaskCancelled();  // every child was cancelled (teardown)

  std::optional<Variant> result;
  std::exception_ptr error;
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    auto pick = [&]<std::size_t J>(std::integral_constant<std::size_t, J>) {
      if (J != winner) return;
      auto& oc = *std::get<J>(outcomes);
      if (oc.error) {
        error = oc.error;
      } else {
        result.emplace(std::in_place_index<J>, std::move(*oc.value));
      }
    };
    (pick(std::integral_constant<std::size_t, I>{}), ...);
  }
  (std::index_sequence_for<Ts...>{});
  if (error) std::rethrow_exception(error);
  co_return std::move(*result);
}

}  // namespace detail

template <class... As>
requires(sizeof...(As) > 0) [[nodiscard]] auto when_any(As... awaitables) {
  return detail::when_any_tasks(detail::as_task(std::move(awaitables))...);
}

}  // namespace executor
