// Build-configuration switches shared by the Linux and Cortex-M builds.
#pragma once

// EXECUTOR_SINGLE_THREADED: defined by single-core ports (Cortex-M). Thread-locals become
// plain statics and the core never needs an OS thread.
#if defined(EXECUTOR_SINGLE_THREADED)
#define EXECUTOR_THREAD_LOCAL
#else
#define EXECUTOR_THREAD_LOCAL thread_local
#endif

#if defined(__cpp_exceptions)
#define EXECUTOR_HAS_EXCEPTIONS 1
#else
#define EXECUTOR_HAS_EXCEPTIONS 0
#endif

// Inline symmetric-transfer hops allowed before a chain of synchronously completing awaits is
// bounced through the run queue. GCC 12 emits symmetric transfer as a real tail call only when
// optimising, so unoptimised and sanitizer builds need a small bound to keep the stack flat.
#if defined(__OPTIMIZE__) && !defined(EXECUTOR_SANITIZER_BUILD)
#define EXECUTOR_MAX_INLINE_TRANSFERS 1024u
#else
#define EXECUTOR_MAX_INLINE_TRANSFERS 64u
#endif
