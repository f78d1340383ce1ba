// A hierarchical timing wheel of intrusive TimerNodes: O(1) insert and cancel, and firing that
// takes a whole slot's list at once. Not synchronised: the owner (Reactor) locks.
//
// Design
// ------
// Time is counted in ticks of 2^16 ns (65.536 us) since the steady clock's epoch. Five levels of
// 1,024 slots each cover 50 bits of ticks, i.e. every representable time point: level 0 slots
// are one tick wide (the level spans 67 ms), level 1 slots 1,024 ticks (the level spans 69 s),
// level 2 19.5 h, level 3 2.3 years, level 4 the rest. A timer due at tick k is linked into the
// level where k first differs from `elapsed_` (the tick up to which the wheel has been
// processed), in the slot given by k's digit at that level. Each slot is kLanes (8) intrusive
// doubly linked lists ("lanes", filled round-robin; cancel unlinks in O(1)) and each level keeps
// a 1,024-bit occupancy map, so finding the next slot to process is a handful of bit scans,
// never a walk over timers.
//
// Why lanes: firing or cascading a slot walks its nodes, and each node lives in a different
// coroutine frame, usually not in cache when many timers are pending. Walking one list is a
// chain of dependent loads: one cache miss at a time. poll() walks the lanes round-robin and
// prefetches each lane's next node when it visits its predecessor, so up to 8 misses overlap.
// A slot's lane heads fill one cache line. (With one list, the walk was about 70% of the
// completion thread's firing time in the timers benchmark; see docs/performance.md.)
//
// A level-0 slot holds deadlines in [k, k+1) ticks and fires once the clock has reached k+1:
// a timer never fires early and at most one tick (65.5 us) late from the granularity. Firing in
// slots is what keeps 100,000 timers cheap: the completion thread wakes at most once per tick
// while timers are pending and fires the whole slot in one pass, instead of once per deadline.
// A slot of a higher level is "cascaded" when `elapsed_` reaches its start: its timers are
// re-linked into lower levels relative to the new `elapsed_`: one more walk over the slot's
// nodes, each a cache miss when many timers are pending. A timer less than 67 ms ahead is at
// level 0, or at level 1 when it crosses a 1,024-tick boundary, and then cascades once; with
// 1,024 rather than 256 slots per level, 15% rather than 60% of 10 ms sleeps (the timers
// benchmark) cascade.
//
// Invariant: every queued node sits at level_for(tick(node)) relative to `elapsed_`, and no
// level-0 slot below `elapsed_` and no higher-level slot at or below it is occupied. poll()
// keeps it by advancing `elapsed_` only to the next slot it processes (the minimum over all
// levels, cascades first on ties), then to the clock's tick when nothing else is due.
//
// Each node's `slot` field says where it is linked (slot index * kLanes + lane; kNotQueued once
// fired or removed). It is atomic only so that TimerNode's owner can skip the lock when
// cancelling a timer that has already fired (see Reactor::cancel_timer); every write happens
// under the owner's lock.
#pragma once

#include <array>
#include <bit>
#include <chrono>
#include <cstddef>
#include <cstdint>

#include <executor/detail/timer_node.hpp>

namespace executor::detail {

class TimerWheel {
 public:
  using Clock = std::chrono::steady_clock;
  using Tick = std::uint64_t;
  static constexpr unsigned kTickShift = 16;  // one tick: 65,536 ns
  static constexpr unsigned kLevelBits = 10;
  static constexpr unsigned kSlots = 1u << kLevelBits;
  static constexpr unsigned kLevels = 5;  // 5 x 10 = 50 bits of ticks >= 64 - 16 bits of ns
  static constexpr unsigned kLanes = 8;   // independent lists per slot (one cache line of heads)
  static constexpr Clock::duration kGranularity = std::chrono::nanoseconds(Tick{1} << kTickShift);

  static Tick to_tick(Clock::time_point t) noexcept {
    auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
    return ns <= 0 ? 0 : static_cast<Tick>(ns) >> kTickShift;
  }
  // The start of tick k; ticks past the clock's range map to time_point::max().
  static Clock::time_point from_tick(Tick k) noexcept {
    if (k >= (Tick{1} << (63 - kTickShift))) return Clock::time_point::max();
    return Clock::time_point(std::chrono::duration_cast<Clock::duration>(
        std::chrono::nanoseconds(static_cast<std::int64_t>(k << kTickShift))));
  }

  bool empty() const noexcept { return size_ == 0; }
  std::size_t size() const noexcept { return size_; }

  // Links `n` (not queued) by its deadline. A deadline already processed fires at the next poll.
  void insert(TimerNode* n) noexcept {
    Tick k = to_tick(n->deadline);
    place(n, k < elapsed_ ? elapsed_ : k);
    ++size_;
  }

  // Unlinks a queued node.
  void remove(TimerNode* n) noexcept {
    unlink(n, n->slot.load(std::memory_order_relaxed));
    // relaxed: the owner's lock orders this store; only a fire publishes (see poll).
    n->slot.store(TimerNode::kNotQueued, std::memory_order_relaxed);
    --size_;
  }

  // The earliest time at which poll() has something to do (fire or cascade), or
  // Clock::time_point::max() if no timer is queued.
  Clock::time_point next_due() const noexcept {
    Expiration e;
    if (!next_expiration(e)) return Clock::time_point::max();
    return from_tick(e.level == 0 ? e.tick + 1 : e.tick);
  }

  // The time at which `n` (queued) fires if nothing is processed before: the end of its tick.
  static Clock::time_point due_time(const TimerNode* n) noexcept {
    return from_tick(to_tick(n->deadline) + 1);
  }

  // Fires the timers whose tick has ended by `now`, at most `max` of them: for each, `fire(node)`
  // (which must take the node's waker) and then the node is marked not queued, after which
  // poll() never touches it again. Returns the number fired; when that is `max`, more may be
  // due (call again). A bound keeps the owner's critical section short.
  template <class Fire>
  std::size_t poll(Clock::time_point now, Fire&& fire,
                   std::size_t max = static_cast<std::size_t>(-1)) noexcept {
    const Tick t = to_tick(now);
    std::size_t fired = 0;
    Expiration e;
    while (next_expiration(e)) {
      if (e.level == 0 ? e.tick >= t : e.tick > t) break;
      if (fired == max) return fired;  // more is due: elapsed_ stays before it
      elapsed_ = e.tick;
      unsigned idx = e.level * kSlots + e.slot;
      // Take the slot's lanes and walk them round-robin: the next node of each lane is
      // prefetched when its predecessor is visited, so up to kLanes misses are in flight
      // instead of one (a single list is a chain of dependent loads).
      TimerNode* cur[kLanes];
      for (unsigned j = 0; j < kLanes; ++j) {
        cur[j] = heads_[idx].lane[j];
        heads_[idx].lane[j] = nullptr;
      }
      occupied_[e.level][e.slot / 64] &= ~(std::uint64_t{1} << (e.slot % 64));
      for (bool any = true; any;) {
        any = false;
        for (unsigned j = 0; j < kLanes; ++j) {
          TimerNode* n = cur[j];
          if (n == nullptr) continue;
          if (e.level == 0 && fired == max) {
            // Full: the rest of the slot goes back to its lanes (elapsed_ == its tick, so it
            // is found first next time). The nodes keep their slot codes.
            for (unsigned k = 0; k < kLanes; ++k) {
              if (cur[k] == nullptr) continue;
              cur[k]->prev = nullptr;
              heads_[idx].lane[k] = cur[k];
            }
            occupied_[0][e.slot / 64] |= std::uint64_t{1} << (e.slot % 64);
            return fired;
          }
          any = true;
          TimerNode* next = n->next;
          if (next != nullptr) __builtin_prefetch(next, 1);
          cur[j] = next;
          if (e.level == 0) {
            fire(n);
            --size_;
            ++fired;
            // release: the canceller's acquire load that sees kNotQueued also sees that fire()
            // has finished with the node, so the node's frame may then be destroyed without
            // the lock (Reactor::cancel_timer). The node is not touched after this store.
            n->slot.store(TimerNode::kNotQueued, std::memory_order_release);
          } else {
            place(n, to_tick(n->deadline));  // cascade: relative to the new elapsed_
          }
        }
      }
    }
    if (t > elapsed_) elapsed_ = t;
    return fired;
  }

 private:
  struct Expiration {
    unsigned level = 0;
    unsigned slot = 0;
    Tick tick = 0;  // level 0: the slot's tick; higher levels: the tick where the slot starts
  };

  static unsigned level_for(Tick elapsed, Tick k) noexcept {
    Tick masked = (elapsed ^ k) | (kSlots - 1);
    unsigned significant = 63u - static_cast<unsigned>(std::countl_zero(masked));
    unsigned level = significant / kLevelBits;
    return level < kLevels ? level : kLevels - 1;
  }

  void place(TimerNode* n, Tick k) noexcept {
    unsigned level = level_for(elapsed_, k);
    unsigned slot = static_cast<unsigned>(k >> (level * kLevelBits)) & (kSlots - 1);
    unsigned idx = level * kSlots + slot;
    unsigned lane = next_lane_++ % kLanes;  // round-robin: the lanes of a busy slot stay even
    TimerNode*& head = heads_[idx].lane[lane];
    n->prev = nullptr;
    n->next = head;
    if (n->next != nullptr) n->next->prev = n;
    head = n;
    occupied_[level][slot / 64] |= std::uint64_t{1} << (slot % 64);
    // relaxed: under the owner's lock (see remove()).
    n->slot.store(idx * kLanes + lane, std::memory_order_relaxed);
  }

  void unlink(TimerNode* n, std::uint32_t code) noexcept {
    unsigned idx = code / kLanes;
    if (n->prev != nullptr) {
      n->prev->next = n->next;
    } else {
      heads_[idx].lane[code % kLanes] = n->next;
    }
    if (n->next != nullptr) n->next->prev = n->prev;
    n->prev = n->next = nullptr;
    if (heads_[idx].empty()) {
      unsigned level = idx / kSlots;
      unsigned slot = idx % kSlots;
      occupied_[level][slot / 64] &= ~(std::uint64_t{1} << (slot % 64));
    }
  }

  // The first occupied slot of `level` at or after `from` (no wrap), or kSlots.
  unsigned next_occupied(unsigned level, unsigned from) const noexcept {
    for (unsigned word = from / 64; word < kSlots / 64; ++word) {
      std::uint64_t bits = occupied_[level][word];
      if (word == from / 64) bits &= ~std::uint64_t{0} << (from % 64);
      if (bits != 0) return word * 64 + static_cast<unsigned>(std::countr_zero(bits));
    }
    return kSlots;
  }

  bool level_next(unsigned level, Expiration& out) const noexcept {
    unsigned shift = level * kLevelBits;
    unsigned pos = static_cast<unsigned>(elapsed_ >> shift) & (kSlots - 1);
    // The top level's range covers the whole 47-bit tick space; shifting by 50 is defined.
    Tick level_range = Tick{1} << (shift + kLevelBits);
    Tick level_start = elapsed_ & ~(level_range - 1);
    unsigned slot = next_occupied(level, pos);
    if (slot != kSlots) {
      out = {level, slot, level_start + (Tick{slot} << shift)};
      return true;
    }
    // By the invariant nothing sits below `pos`; stay correct (late, never early) if it did.
    slot = next_occupied(level, 0);
    if (slot == kSlots) return false;
    out = {level, slot, level_start + level_range + (Tick{slot} << shift)};
    return true;
  }

  bool next_expiration(Expiration& out) const noexcept {
    if (size_ == 0) return false;
    bool found = false;
    for (unsigned level = 0; level < kLevels; ++level) {
      Expiration e;
      if (!level_next(level, e)) continue;
      // Processed in order of the tick they move `elapsed_` to; on a tie the cascade (higher
      // level) goes first, so its timers join the level-0 slot before that slot fires.
      if (!found || e.tick <= out.tick) {
        out = e;
        found = true;
      }
    }
    return found;
  }

  // A slot: kLanes intrusive lists, filled round-robin (see poll()).
  struct alignas(64) Slot {
    TimerNode* lane[kLanes] = {};
    bool empty() const noexcept {
      for (TimerNode* h : lane) {
        if (h != nullptr) return false;
      }
      return true;
    }
  };

  Tick elapsed_ = 0;
  std::size_t size_ = 0;
  unsigned next_lane_ = 0;
  std::array<Slot, kLevels * kSlots> heads_{};
  std::array<std::array<std::uint64_t, kSlots / 64>, kLevels> occupied_{};
};

}  // namespace executor::detail
