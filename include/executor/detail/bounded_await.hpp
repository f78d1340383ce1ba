// The bounds an awaiter may be given before it is awaited: a deadline and a cancellation token,
// with the builders that set them. The base of io::IoOperation (one-shot I/O) and
// detail::MultishotNext (the next result of a multishot op); what a bound does when it is hit
// is the derived awaiter's (see its header).
#pragma once

#include <chrono>
#include <concepts>
#include <optional>
#include <utility>

#include <executor/cancellation_token.hpp>
#include <executor/detail/deadline.hpp>

namespace executor::detail {

// CRTP: the builders return the derived awaiter D (by rvalue, to chain and then co_await).
template <class D>
class BoundedAwait {
 public:
  BoundedAwait(const BoundedAwait&) = delete;
  BoundedAwait& operator=(const BoundedAwait&) = delete;
  BoundedAwait& operator=(BoundedAwait&&) = delete;

  // Bounds the wait by `d` from now. d <= 0: expires at once (D says what that means); a d too
  // large to add to now (hours::max()) never expires.
  template <class Rep, class Period>
  D&& timeout(std::chrono::duration<Rep, Period> d) && {
    deadline_ = deadline_after(std::chrono::steady_clock::now(), d);
    has_deadline_ = true;
    return static_cast<D&&>(*this);
  }
  // Bounds the wait by the absolute time `t` (a past one, including time_point::min() and the
  // epoch, expires at once).
  D&& deadline(std::chrono::steady_clock::time_point t) && {
    deadline_ = t;
    has_deadline_ = true;
    return static_cast<D&&>(*this);
  }
  // Ends the wait when `token` is cancelled.
  D&& cancel_on(const CancellationToken& token) && {
    token_.emplace(token);
    return static_cast<D&&>(*this);
  }

  // The deadline set so far, if any. executor::timeout keeps the earlier of two.
  std::optional<std::chrono::steady_clock::time_point> bound_deadline() const noexcept {
    if (!has_deadline_) return std::nullopt;
    return deadline_;
  }

 protected:
  BoundedAwait() noexcept = default;
  BoundedAwait(BoundedAwait&& o) noexcept  // only before it is awaited
      : deadline_(o.deadline_), has_deadline_(o.has_deadline_), token_(std::move(o.token_)) {}
  ~BoundedAwait() = default;

  bool has_deadline() const noexcept { return has_deadline_; }

  std::chrono::steady_clock::time_point deadline_{};  // valid if has_deadline_
  bool has_deadline_ = false;
  std::optional<CancellationToken> token_;
};

// An awaiter with these builders (io operations, multishot next results, buffered stream calls):
// executor::timeout bounds it with its own deadline instead of running it as a child task.
template <class A>
concept DeadlineBounded = std::derived_from<A, BoundedAwait<A>> && std::move_constructible<A>;

}  // namespace executor::detail
