// Frame allocation for the Linux runtime: a magazine allocator (Bonwick & Adams, 2001) for
// coroutine frames and task cells.
//
// Design
// ------
// Sizes up to kMaxSize are rounded up to a multiple of kGranule (one size class per multiple).
// The granule is 16 bytes, the alignment operator new guarantees: a task cell of 112 bytes
// (Task<int>) then costs 112, not 128, which is 16 MB of the 1,000,000 cells spawn_join holds.
// Each thread keeps, per class, two magazines (stacks of up to kMagazineSize free blocks):
// `loaded` serves allocations and takes frees; `previous` is a spare, swapped in when `loaded`
// runs empty (allocation) or full (free). When both are exhausted, the thread trades a magazine
// with the class's depot: a full one for an empty one (free path) or the reverse (allocation
// path). One depot trade moves kMagazineSize blocks under one lock, so the common pattern of a
// runtime — a task spawned on one worker and finished on another — recycles frames between the
// two threads at one lock per 64 frames instead of glibc's per-free arena traffic.
// When no magazine anywhere has a free block, a thread carves a fresh magazine's worth of blocks
// out of one malloc'd slab (one malloc per 64 frames). Blocks are therefore never returned to
// malloc or the OS: frame memory is retained for reuse at its peak footprint. Larger sizes go
// straight to malloc.
//
// Fields: Cache — its thread only; Depot — under its mutex. A thread's magazines go back to the
// depots when it exits.
//
// Errors: returns nullptr when malloc does (a Task then reports std::bad_alloc).
#include <array>
#include <cstddef>
#include <cstdlib>
#include <mutex>
#include <new>
#include <vector>

#include <executor/detail/frame_allocator.hpp>

namespace executor::detail {

namespace {

constexpr std::size_t kGranule = 16;  // = __STDCPP_DEFAULT_NEW_ALIGNMENT__: blocks stay aligned
constexpr std::size_t kMaxSize = 1024;
constexpr std::size_t kClasses = kMaxSize / kGranule;
constexpr std::size_t kMagazineSize = 64;

struct Magazine {
  std::size_t n = 0;
  void* blocks[kMagazineSize];
  bool full() const noexcept { return n == kMagazineSize; }
  bool empty() const noexcept { return n == 0; }
};

struct Depot {
  std::mutex mu;
  std::vector<Magazine*> full;
  std::vector<Magazine*> empty;
  Magazine* orphans = nullptr;  // blocks freed where no thread cache can take them
};

Depot& depot(std::size_t cls) noexcept {
  // Never destroyed: threads may return magazines during static destruction.
  static auto* depots = new std::array<Depot, kClasses>();
  return (*depots)[cls];
}

Magazine* new_magazine() noexcept {
  return new (std::nothrow) Magazine();
}

// Gives `m` (full) to the depot; returns an empty magazine (possibly new), or nullptr.
Magazine* trade_full(std::size_t cls, Magazine* m) noexcept {
  Depot& d = depot(cls);
  Magazine* e = nullptr;
  {
    std::lock_guard lock(d.mu);
    d.full.push_back(m);
    if (!d.empty.empty()) {
      e = d.empty.back();
      d.empty.pop_back();
    }
  }
  return e != nullptr ? e : new_magazine();
}

// Frees a block without a thread cache (thread exit, or no memory for a magazine).
void orphan_free(std::size_t cls, void* block) noexcept {
  Depot& d = depot(cls);
  std::lock_guard lock(d.mu);
  if (d.orphans != nullptr && d.orphans->full()) {
    d.full.push_back(d.orphans);
    d.orphans = nullptr;
  }
  if (d.orphans == nullptr) d.orphans = new_magazine();
  if (d.orphans != nullptr) d.orphans->blocks[d.orphans->n++] = block;
  // else: out of memory even for a magazine; the block (slab memory) is lost, not corrupted.
}

// Fills `m` (empty) with kMagazineSize fresh blocks carved from one slab.
bool refill_from_slab(std::size_t cls, Magazine* m) noexcept {
  std::size_t size = (cls + 1) * kGranule;
  auto* slab = static_cast<unsigned char*>(std::malloc(size * kMagazineSize));
  if (slab == nullptr) return false;
  for (std::size_t i = 0; i < kMagazineSize; ++i) m->blocks[i] = slab + i * size;
  m->n = kMagazineSize;
  return true;
}

// Gives `m` (empty) to the depot; returns a full magazine or nullptr.
Magazine* trade_empty(std::size_t cls, Magazine* m) noexcept {
  Depot& d = depot(cls);
  std::lock_guard lock(d.mu);
  if (d.full.empty()) return nullptr;
  Magazine* f = d.full.back();
  d.full.pop_back();
  d.empty.push_back(m);
  return f;
}

extern thread_local bool tl_cache_gone;

struct Cache {
  Magazine* loaded[kClasses] = {};
  Magazine* previous[kClasses] = {};

  ~Cache() {
    tl_cache_gone = true;
    for (std::size_t c = 0; c < kClasses; ++c) {
      for (Magazine* m : {loaded[c], previous[c]}) {
        if (m == nullptr) continue;
        if (m->empty()) {
          std::lock_guard lock(depot(c).mu);
          depot(c).empty.push_back(m);
        } else {
          Depot& d = depot(c);
          std::lock_guard lock(d.mu);
          d.full.push_back(m);  // partially filled magazines are fine in the full list
        }
      }
    }
  }

  void* allocate(std::size_t cls) noexcept {
    Magazine*& l = loaded[cls];
    if (l != nullptr && !l->empty()) return l->blocks[--l->n];
    Magazine*& p = previous[cls];
    if (p != nullptr && !p->empty()) {
      std::swap(l, p);
      return l->blocks[--l->n];
    }
    if (l == nullptr && (l = new_magazine()) == nullptr) return nullptr;
    if (Magazine* f = trade_empty(cls, l)) {
      l = f;
      if (!l->empty()) return l->blocks[--l->n];
    }
    if (!refill_from_slab(cls, l)) return nullptr;
    return l->blocks[--l->n];
  }

  void free(std::size_t cls, void* block) noexcept {
    Magazine*& l = loaded[cls];
    if (l == nullptr) l = new_magazine();
    if (l != nullptr && !l->full()) {
      l->blocks[l->n++] = block;
      return;
    }
    Magazine*& p = previous[cls];
    if (p == nullptr) p = new_magazine();
    if (p != nullptr && !p->full()) {
      std::swap(l, p);
      l->blocks[l->n++] = block;
      return;
    }
    if (l != nullptr) {
      l = trade_full(cls, l);
      if (l != nullptr) {
        l->blocks[l->n++] = block;
        return;
      }
    }
    orphan_free(cls, block);
  }
};

thread_local Cache tl_cache;
// Set once this thread's cache is destroyed (thread exit): later frees go to malloc directly.
// Trivially destructible, so it stays readable after tl_cache is gone.
thread_local bool tl_cache_gone = false;

constexpr std::size_t size_class(std::size_t size) noexcept {
  return (size + kGranule - 1) / kGranule - 1;
}

}  // namespace

#if defined(EXECUTOR_SANITIZER_BUILD)
// Sanitizer builds use malloc directly so that AddressSanitizer sees every use after free.
void* allocate_frame(std::size_t size) noexcept {
  return std::malloc(size);
}
void free_frame(void* frame, std::size_t) noexcept {
  std::free(frame);
}
#else
void* allocate_frame(std::size_t size) noexcept {
  if (size == 0 || size > kMaxSize) return std::malloc(size);
  std::size_t cls = size_class(size);
  // A whole class-sized block: it joins the pool when freed.
  if (tl_cache_gone) return std::malloc((cls + 1) * kGranule);
  return tl_cache.allocate(cls);
}

void free_frame(void* frame, std::size_t size) noexcept {
  if (frame == nullptr) return;
  if (size == 0 || size > kMaxSize) {
    std::free(frame);
    return;
  }
  std::size_t cls = size_class(size);
  if (tl_cache_gone) {
    orphan_free(cls, frame);  // pooled blocks may come from slabs: never free() them
    return;
  }
  tl_cache.free(cls, frame);
}
#endif

}  // namespace executor::detail
