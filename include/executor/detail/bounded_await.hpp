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

namespace executor::detail {

// CRTP: the builders return the derived awaiter D (by rvalue, to chain and then co_await).
template <class D>
class BoundedAwait {
 public:
  BoundedAwait(const BoundedAwait&) = delete;
  BoundedAwait& operator=(const BoundedAwait&) = delete;
  BoundedAwait& operator=(BoundedAwait&&) = delete;

  // Bounds the wait by `d` from now. d <= 0: expires at once (D says what that means).
  template <class Rep, class Period>
  D&& timeout(std::chrono::duration<Rep, Period> d) && {
    auto now = std::chrono::steady_clock::now();
    deadline_ = d.count() > 0 ? now + std::chrono::ceil<std::chrono::nanoseconds>(d) : now;
    return static_cast<D&&>(*this);
  }
  // Bounds the wait by the absolute time `t`.
  D&& deadline(std::chrono::steady_clock::time_point t) && {
    deadline_ = t;
    return static_cast<D&&>(*this);
  }
  // Ends the wait when `token` is cancelled.
  D&& cancel_on(const CancellationToken& token) && {
    token_.emplace(token);
    return static_cast<D&&>(*this);
  }

  // The deadline set so far (the epoch: none). executor::timeout keeps the earlier of two.
  std::chrono::steady_clock::time_point bound_deadline() const noexcept { return deadline_; }

 protected:
  BoundedAwait() noexcept = default;
  BoundedAwait(BoundedAwait&& o) noexcept  // only before it is awaited
      : deadline_(o.deadline_), token_(std::move(o.token_)) {}
  ~BoundedAwait() = default;

  bool has_deadline() const noexcept {
    return deadline_ != std::chrono::steady_clock::time_point{};
  }

  std::chrono::steady_clock::time_point deadline_{};  // none: the epoch
  std::optional<CancellationToken> token_;
};

// An awaiter with these builders (io operations, multishot next results, buffered stream calls):
// executor::timeout bounds it with its own deadline instead of running it as a child task.
template <class A>
concept DeadlineBounded = std::derived_from<A, BoundedAwait<A>> && std::move_constructible<A>;

}  // namespace executor::detail
