// Debug-build checks shared by the sync primitives (compiled out with NDEBUG).
#pragma once

#include <executor/detail/task_header.hpp>

namespace executor::sync::detail {

#if defined(NDEBUG)
inline constexpr bool kDebugChecks = false;
#else
inline constexpr bool kDebugChecks = true;
#endif

// An identity of the calling thread that needs no OS header: the address of the core's
// per-thread task context (one per worker thread; a single one on single-core ports).
inline const void* this_thread_identity() noexcept {
  return &executor::detail::context();
}

// Remembers the first thread that used an object and aborts (executor::detail::fatal) if
// another thread uses it later. Empty and free in release builds.
class ThreadAffinity {
 public:
  void check(const char* what) noexcept {
#if !defined(NDEBUG)
    const void* me = this_thread_identity();
    if (owner_ == nullptr) {
      owner_ = me;
    } else if (owner_ != me) {
      executor::detail::fatal(what);
    }
#else
    (void)what;
#endif
  }

 private:
#if !defined(NDEBUG)
  const void* owner_ = nullptr;
#endif
};

}  // namespace executor::sync::detail
