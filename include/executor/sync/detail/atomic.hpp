// The atomics facade of executor::sync: every atomic variable in sync/ is declared through it.
//
// Why: lock-free code is only trustworthy once an exhaustive or randomized-interleaving harness
// has driven it through its races (Rust's loom). The lock-free algorithms of sync/ are templates
// over an *atomics policy*; the library instantiates them with `StdAtomics` (std::atomic, no
// overhead), and a test instantiates the same algorithm with an instrumented policy that yields
// to a controlling scheduler before every atomic access (tests/sync/model_atomics.hpp). Because
// the policy is a template parameter rather than a macro, the instrumented and the real
// instantiations are different types and can be linked into one test binary without breaking
// the one-definition rule.
//
// A policy provides:
//   template <class T> using atomic = ...;   // the interface of std::atomic<T> that sync/ uses:
//                                            // load, store, exchange, compare_exchange_weak/
//                                            // strong, fetch_add/sub/or/and/xor
//   static void spin_hint() noexcept;        // inside spin loops (a pause, or a model yield)
//
// Portability: only 32-bit-or-narrower and pointer-sized atomics are used, which ARMv7-M
// (Cortex-M3/M4) performs inline with LDREX/STREX; no 64-bit atomics (they would become
// library calls on Cortex-M).
#pragma once

#include <atomic>

namespace executor::sync::detail {

struct StdAtomics {
  template <class T>
  using atomic = std::atomic<T>;

  static void spin_hint() noexcept {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__) || (defined(__ARM_ARCH) && __ARM_ARCH >= 7)
    __asm__ __volatile__("yield" ::: "memory");
#endif
  }
};

// The policy used by the library's own instantiations.
using Atomics = StdAtomics;

template <class T>
using Atomic = Atomics::atomic<T>;

}  // namespace executor::sync::detail
