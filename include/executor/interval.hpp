// executor::interval(period, missed): a clock that ticks every `period` (tokio's Interval).
//
//   executor::Interval every = executor::interval(1s);           // MissedTick::kBurst
//   for (;;) {
//     Clock::time_point scheduled = co_await every.tick();     // the tick's scheduled time
//     report_stats();
//   }
//
// The first tick is due at once (interval) or at `start` (interval_at); then one every `period`.
// tick() waits until the next tick is due (not at all if it is overdue) and yields the time it
// was scheduled for, not the time it fired. A tick is *missed* when tick() is called so late that
// the tick after it is due already (the work between two ticks took longer than a period, or the
// task did not get a worker). What happens then is the MissedTick policy:
//
//   kBurst  the missed ticks come at once, one per tick() call, until the schedule is caught up;
//           the schedule never shifts (start + k * period). For work that must happen k times.
//   kDelay  the schedule restarts from the late call: the next tick is `period` after the
//           tick() that noticed the miss returned (the schedule shifts; no burst).
//   kSkip   the missed ticks are dropped: the next tick is the first of the original schedule
//           (start + k * period) that is still in the future.
//
// Cancellation: destroying a coroutine suspended in tick() (executor::timeout, a JoinSet abort)
// disarms its timer and consumes no tick: the next tick() returns the same one.
// Thread safety: an Interval is used by one task at a time (it may move between tasks).
// Memory: the timer lives in the tick() awaiter; nothing is allocated.
// Errors: a period <= 0 is taken as the timer granularity's smallest step (1 ns): the interval then
// ticks as fast as the task asks. Like sleep, only inside a task of a Runtime.
#pragma once

#include <chrono>
#include <coroutine>
#include <optional>

#include <executor/sleep.hpp>

namespace executor {

enum class MissedTick { kBurst, kDelay, kSkip };

class Interval {
 public:
  Interval(Clock::time_point start, Clock::duration period,
           MissedTick missed = MissedTick::kBurst) noexcept
      : next_(start),
        period_(period > Clock::duration::zero() ? period : Clock::duration(1)),
        missed_(missed) {}

  class TickAwaiter {
   public:
    // Movable until awaited (executor::timeout moves it into a child task).
    TickAwaiter(TickAwaiter&& o) noexcept : iv_(o.iv_) {}
    TickAwaiter(const TickAwaiter&) = delete;
    TickAwaiter& operator=(const TickAwaiter&) = delete;

    bool await_ready() {
      if (iv_->next_ <= Clock::now()) return true;
      sleep_.emplace(iv_->next_);
      return false;
    }
    void await_suspend(std::coroutine_handle<> h) { sleep_->await_suspend(h); }
    Clock::time_point await_resume() noexcept { return iv_->advance(); }

   private:
    friend class Interval;
    explicit TickAwaiter(Interval* iv) noexcept : iv_(iv) {}
    Interval* iv_;
    std::optional<SleepAwaiter> sleep_;
  };

  // Waits for the next tick; yields its scheduled time.
  [[nodiscard]] TickAwaiter tick() noexcept { return TickAwaiter(this); }

  // The next tick's scheduled time.
  Clock::time_point next_tick() const noexcept { return next_; }
  Clock::duration period() const noexcept { return period_; }
  MissedTick missed_tick() const noexcept { return missed_; }
  void set_missed_tick(MissedTick m) noexcept { missed_ = m; }
  // Restarts the schedule: the next tick is `period` from now.
  void reset() noexcept { next_ = Clock::now() + period_; }

 private:
  // The tick at next_ is due (now >= next_): returns it and schedules the one after.
  Clock::time_point advance() noexcept {
    Clock::time_point tick = next_;
    Clock::time_point now = Clock::now();
    Clock::time_point following = tick + period_;
    if (following > now) {  // on time (or late by less than a period): no tick missed
      next_ = following;
      return tick;
    }
    switch (missed_) {
      case MissedTick::kBurst:
        next_ = following;
        break;
      case MissedTick::kDelay:
        next_ = now + period_;
        break;
      case MissedTick::kSkip:
        // The first tick of the schedule strictly after now.
        next_ = tick + period_ * ((now - tick) / period_ + 1);
        break;
    }
    return tick;
  }

  Clock::time_point next_;
  Clock::duration period_;
  MissedTick missed_;
};

// Ticks at once, then every `period`.
template <class Rep, class Per>
[[nodiscard]] Interval interval(std::chrono::duration<Rep, Per> period,
                                MissedTick missed = MissedTick::kBurst) noexcept {
  return Interval(Clock::now(), std::chrono::duration_cast<Clock::duration>(period), missed);
}

// Ticks at `start`, then every `period`.
template <class Rep, class Per>
[[nodiscard]] Interval interval_at(Clock::time_point start, std::chrono::duration<Rep, Per> period,
                                   MissedTick missed = MissedTick::kBurst) noexcept {
  return Interval(start, std::chrono::duration_cast<Clock::duration>(period), missed);
}

}  // namespace executor
