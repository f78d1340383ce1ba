// The lock-free state machine behind executor::sync::multishot (one slot, reused per round).
//
// Design
// ------
// One allocation per channel holds a state word, the receiver's waker slot and a value slot.
// Template parameters: the atomics policy (see atomic.hpp; tests substitute an instrumented one)
// and the waker type (tests substitute a fake). The word packs four flags:
//
//   SENDER   (1)  a Sender of the current round exists and has not finished (sent or dropped)
//   VALUE    (2)  the value slot holds a sent value the receiver has not taken
//   WAKER    (4)  the waker slot holds the receiver's waker
//   RECEIVER (8)  the Receiver exists
//
// Who may touch what:
//  * value slot: the sender writes it while SENDER is set and VALUE clear; the receiver reads
//    and destroys it once it has seen VALUE (acquire). Nobody else.
//  * waker slot: the receiver writes it while WAKER is clear, then sets WAKER (release). While
//    SENDER is set and VALUE clear the receiver may take it back by clearing WAKER with a CAS.
//    Once the sender has finished with WAKER set, the slot is the sender's: it moves the waker
//    out, then clears WAKER (its second and last access). A set WAKER therefore also keeps the
//    allocation alive for the finishing sender.
//  * allocation: freed by whoever's RMW leaves none of SENDER, WAKER, RECEIVER set.
//
// Transitions (function performing each):
//
//   finish_sender   SENDER -> 0, and VALUE 0 -> 1 when sending (one fetch_xor); if WAKER was
//                   set: take the waker, then WAKER -> 0 (a second fetch_and) and wake it
//   poll            no VALUE, SENDER set: publish waker, WAKER 0 -> 1 (one fetch_or); a re-poll
//                   first takes the old waker back (a CAS): at most 2 RMWs. VALUE already set:
//                   take it with no RMW (a plain store clears VALUE: nobody else may write then)
//   cancel_wait     WAKER -> 0 by CAS while SENDER set and VALUE clear; else the sender owns it
//   new_sender      0 -> SENDER when SENDER, VALUE and WAKER are clear (a plain store)
//   drop_receiver   RECEIVER -> 0 (fetch_and)
//
// Operation counts: sending does 1 atomic RMW, or 2 when a receiver waits; polling does at most
// 2 (1 on a first poll), none when the value is already there.
#pragma once

#include <cstdint>
#include <new>
#include <type_traits>
#include <utility>

#include <executor/detail/task_header.hpp>
#include <executor/sync/detail/atomic.hpp>
#include <executor/sync/detail/debug.hpp>

namespace executor::sync::detail {

template <class T, class AtomicsPolicy, class WakerT>
class MultishotState {
 public:
  static constexpr std::uint32_t kSender = 1;
  static constexpr std::uint32_t kValue = 2;
  static constexpr std::uint32_t kWaker = 4;
  static constexpr std::uint32_t kReceiver = 8;

  enum class Poll : std::uint8_t { kReady, kClosed, kPending };

  // `release(state)` frees the allocation (called exactly once, by the last owner).
  using ReleaseFn = void (*)(MultishotState*) noexcept;

  explicit MultishotState(ReleaseFn release) noexcept : release_(release) {}
  MultishotState(const MultishotState&) = delete;
  MultishotState& operator=(const MultishotState&) = delete;
  ~MultishotState() {
    // relaxed: the releasing owner's acq_rel RMW already synchronised with every other owner.
    if ((state_.load(std::memory_order_relaxed) & kValue) != 0) value()->~T();
  }

  // --- sender side (the one Sender of the round) -----------------------------------------

  // Sends `v`. Returns false if the receiver was already gone (the value is then destroyed).
  template <class U>
  bool send(U&& v) noexcept(std::is_nothrow_constructible_v<T, U&&>) {
    ::new (static_cast<void*>(storage_)) T(std::forward<U>(v));
    return finish_sender(kSender | kValue);
  }
  // The Sender is destroyed without sending: the receiver sees the channel closed.
  void drop_sender() noexcept { (void)finish_sender(kSender); }

  // --- receiver side (the one Receiver) ----------------------------------------------------

  // Takes the value if it is there. kReady: `out` holds it. kClosed: no sender and no value.
  // kPending: a sender exists and has not sent. No RMW unless a sender is finishing right now.
  template <class Out>
  Poll try_take(Out& out) {
    // acquire: pairs with the release in finish_sender, so a seen VALUE means the value (and
    // the end of the sender's accesses to it) is visible.
    std::uint32_t s = state_.load(std::memory_order_acquire);
    if ((s & kValue) != 0) {
      take_value(s, out);
      return Poll::kReady;
    }
    return (s & kSender) != 0 ? Poll::kPending : Poll::kClosed;
  }

  // Registers `w` unless the value or the close is already there (then `w` is dropped and the
  // result is taken into `out` as by try_take). At most 2 RMWs.
  template <class Out>
  Poll poll(WakerT&& w, Out& out) {
    // acquire: as in try_take.
    std::uint32_t s = state_.load(std::memory_order_acquire);
    if ((s & kWaker) != 0) {
      // Re-poll: take our earlier waker back while the slot is still ours.
      while ((s & (kSender | kValue | kWaker)) == (kSender | kWaker)) {
        // acquire on success: nothing to see (we wrote the slot ourselves); the sender has not
        // finished, so it never read it. acquire on failure: as in try_take.
        if (state_.compare_exchange_weak(s, s & ~kWaker, std::memory_order_acquire,
                                         std::memory_order_acquire)) {
          waker_.drop();
          s &= ~kWaker;
          break;
        }
      }
    }
    if ((s & kValue) != 0) {
      w.drop();
      take_value(s, out);
      return Poll::kReady;
    }
    if ((s & kSender) == 0) {
      w.drop();
      return Poll::kClosed;
    }
    waker_ = std::move(w);
    // acq_rel: release publishes waker_ to the sender (its acquire fetch_xor sees WAKER);
    // acquire: if the sender finished first, its value is visible below.
    std::uint32_t prev = state_.fetch_or(kWaker, std::memory_order_acq_rel);
    if ((prev & kSender) != 0 && (prev & kValue) == 0) return Poll::kPending;
    // The sender finished between our load and the fetch_or and did not see WAKER: it is done
    // with the word (RECEIVER is set, so it did not free either). The slot is ours again.
    // relaxed store: nobody else writes the word now (no sender; the next one is created by
    // the receiver itself).
    state_.store(prev & ~kWaker, std::memory_order_relaxed);
    waker_.drop();
    if ((prev & kValue) != 0) {
      take_value(prev, out);
      return Poll::kReady;
    }
    return Poll::kClosed;
  }

  // A registered receiver stops waiting (its awaiting frame is destroyed). Takes the waker
  // back if the sender has not finished; otherwise the sender owns it and will wake it (a
  // stale wake, ignored by the task).
  void cancel_wait() noexcept {
    // relaxed: the CAS below only needs to observe the flags; see its comment.
    std::uint32_t s = state_.load(std::memory_order_relaxed);
    while ((s & (kSender | kValue | kWaker)) == (kSender | kWaker)) {
      // relaxed: success proves the sender has not finished, hence never read the slot, which
      // we wrote ourselves; failure only re-reads the flags.
      if (state_.compare_exchange_weak(s, s & ~kWaker, std::memory_order_relaxed,
                                       std::memory_order_relaxed)) {
        waker_.drop();
        return;
      }
    }
  }

  // Starts a new round: true if the previous sender is gone and its value was taken.
  bool new_sender() noexcept {
    // acquire: pairs with the previous sender's last release RMW, so its accesses to the slots
    // happen before the new round reuses them.
    std::uint32_t s = state_.load(std::memory_order_acquire);
    if ((s & (kSender | kValue | kWaker)) != 0) return false;
    // relaxed store: with SENDER, VALUE and WAKER clear nobody but the receiver writes the word.
    state_.store(s | kSender, std::memory_order_relaxed);
    return true;
  }

  // The Receiver is destroyed (its recv operations must be gone: they live in its user's frames).
  void drop_receiver() noexcept {
    // acq_rel: release hands our last accesses to a sender that frees; acquire makes the
    // sender's accesses visible if we free.
    std::uint32_t prev = state_.fetch_and(~kReceiver, std::memory_order_acq_rel);
    if (kDebugChecks && (prev & (kSender | kValue | kWaker)) == (kSender | kWaker)) {
      executor::detail::fatal("multishot: Receiver destroyed while a recv() on it is suspended");
    }
    if ((prev & (kSender | kWaker)) == 0) release_(this);
  }

  // Test hook: the raw word.
  std::uint32_t load_state_for_test() const noexcept {
    return state_.load(std::memory_order_acquire);
  }

  static constexpr std::uint32_t kInitial = kSender | kReceiver;

 private:
  T* value() noexcept { return std::launder(reinterpret_cast<T*>(storage_)); }

  template <class Out>
  void take_value(std::uint32_t seen, Out& out) {
    out = std::move(*value());
    value()->~T();
    if ((seen & kWaker) == 0) {
      // relaxed store: VALUE set and SENDER, WAKER clear: the sender is done, so nobody else
      // writes the word (this is the zero-RMW receive).
      state_.store(seen & ~kValue, std::memory_order_relaxed);
    } else {
      // A finishing sender still has to clear WAKER: its RMW and ours must not lose each other.
      // relaxed: the value was already acquired by the load that saw VALUE.
      state_.fetch_and(~kValue, std::memory_order_relaxed);
    }
  }

  // The sender's last act: clears SENDER (and sets VALUE if `bits` has it) in one RMW, then
  // wakes a registered receiver. Returns false if the receiver was gone.
  bool finish_sender(std::uint32_t bits) noexcept {
    // acq_rel: release publishes the value to the receiver's acquire load; acquire makes the
    // waker the receiver published (release fetch_or) visible if WAKER is set.
    std::uint32_t prev = state_.fetch_xor(bits, std::memory_order_acq_rel);
    if ((prev & kWaker) != 0) {
      WakerT w = std::move(waker_);
      // acq_rel: release orders our read of the waker slot before the receiver reuses it (it
      // re-registers only after seeing WAKER clear); acquire, if we free, makes the receiver's
      // accesses visible first.
      std::uint32_t prev2 = state_.fetch_and(~kWaker, std::memory_order_acq_rel);
      if ((prev2 & kReceiver) == 0) release_(this);
      w.wake();
      return true;
    }
    if ((prev & kReceiver) == 0) {
      release_(this);
      return false;
    }
    return true;
  }

  typename AtomicsPolicy::template atomic<std::uint32_t> state_{kInitial};
  WakerT waker_;
  ReleaseFn release_;
  alignas(T) unsigned char storage_[sizeof(T)];
};

}  // namespace executor::sync::detail
