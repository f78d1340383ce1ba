// An awaiter with the bounds of BoundedAwait (`.timeout(d)`, `.deadline(t)`, `.cancel_on(token)`)
// whose work is a coroutine that passes those bounds on to every operation it awaits. The base
// of the buffered stream operations (io::BufReader, io::BufWriter, the framing helpers): the
// bound of one call is a bound on each kernel operation it starts, so it is enforced by the
// operations themselves (a timed-out read returns its buffer) rather than by destroying a frame.
//
// D provides:
//   std::optional<R> try_now();      the result if it is known without waiting (a line that is
//                                    already buffered); nullopt: run() must wait
//   Task<R> run(AwaitBounds bounds); the waiting path, started by await_suspend
// Users never name these types.
#pragma once

#include <chrono>
#include <coroutine>
#include <optional>
#include <utility>

#include <executor/cancellation_token.hpp>
#include <executor/detail/bounded_await.hpp>
#include <executor/task.hpp>

namespace executor::detail {

// The bounds of one call, handed to the coroutine that does its work. `token` points into the
// awaiter, which outlives that coroutine.
struct AwaitBounds {
  std::chrono::steady_clock::time_point deadline{};  // the epoch: none
  const CancellationToken* token = nullptr;
  bool has_deadline() const noexcept { return deadline != std::chrono::steady_clock::time_point{}; }
};

// `op` with the bounds applied (an awaitable with the BoundedAwait builders, before it is awaited).
template <class Op>
Op with_bounds(Op&& op, const AwaitBounds& b) {
  if (b.has_deadline() && b.token != nullptr) {
    return std::move(op).deadline(b.deadline).cancel_on(*b.token);
  }
  if (b.has_deadline()) return std::move(op).deadline(b.deadline);
  if (b.token != nullptr) return std::move(op).cancel_on(*b.token);
  return std::move(op);
}

template <class D, class R>
class BoundedTask : public BoundedAwait<D> {
 public:
  bool await_ready() {
    early_ = self().try_now();
    return early_.has_value();
  }
  std::coroutine_handle<> await_suspend(std::coroutine_handle<> h) {
    task_ = self().run(AwaitBounds{this->deadline_, this->token_ ? &*this->token_ : nullptr});
    if (!task_.valid()) return h;  // no frame: await_resume throws std::bad_alloc
    return typename Task<R>::Awaiter(task_.handle()).await_suspend(h);
  }
  R await_resume() {
    if (early_.has_value()) return std::move(*early_);
    return typename Task<R>::Awaiter(task_.handle()).await_resume();
  }

 protected:
  BoundedTask() noexcept = default;
  BoundedTask(BoundedTask&& o) noexcept : BoundedAwait<D>(std::move(o)) {}  // before awaited

 private:
  D& self() noexcept { return static_cast<D&>(*this); }
  std::optional<R> early_;
  Task<R> task_;
};

}  // namespace executor::detail
