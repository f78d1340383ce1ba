// executor::signals: graceful shutdown on SIGINT and SIGTERM.
//
//   executor::Task<int> app() {
//     executor::CancellationToken stop = executor::signals::new_shutdown_token();
//     ... start the server's tasks, giving them `stop` (or children of it) ...
//     co_await stop.cancelled();   // SIGINT or SIGTERM arrived
//     ... stop accepting, drain, flush ...
//     co_return 0;
//   }
//   EXECUTOR_MAIN(app)
//
// new_shutdown_token() returns a new token that is cancelled when the process receives SIGINT or
// SIGTERM. Every call returns a child of one process-wide shutdown token, so cancelling a
// returned token yourself affects only that token (and its children); the signal cancels all.
// The first call installs the signal handling; later calls share it.
//
// How the signal is received: the handler does only async-signal-safe work (an atomic exchange
// and a write(2) to an eventfd); a dedicated thread blocked in read(2) on that eventfd cancels the
// shared token, so the token's callbacks run on that thread and tasks waiting in cancelled() are
// woken onto their runtime's workers. No task code ever runs inside the signal handler. The
// thread does not belong to any Runtime, so the token works across runtimes (and without one).
//
// Second signal: a SIGINT or SIGTERM that arrives after the first one (while the program shuts
// down) ends the process at once with _exit(128 + signal), the shell convention (130 for SIGINT,
// 143 for SIGTERM): a stuck shutdown can always be interrupted. No destructors or atexit
// handlers run then.
//
// Process-wide effects: the handlers replace any earlier SIGINT/SIGTERM disposition (including
// SIG_IGN) with SA_RESTART semantics. The watcher thread unblocks both signals for itself, so a
// program that blocks them in its other threads still shuts down (the kernel then delivers them
// to the watcher). A process forked without exec inherits the handler but not the thread; there
// the handler restores the default action and re-raises the signal.
//
// Thread safety: callable from any thread (inside or outside tasks).
// Errors: std::system_error if the set-up fails (eventfd, sigaction, thread creation); a later
// call retries the set-up. Memory: one small allocation per call (the child token).
#pragma once

#include <executor/cancellation_token.hpp>
#include <executor/export.hpp>

namespace executor::signals {

[[nodiscard]] EXECUTOR_API CancellationToken new_shutdown_token();

// The signal that started the shutdown (SIGINT or SIGTERM), or 0 if none was delivered yet.
// Memory ordering: it is stored before the tokens are cancelled, so code that observes the
// cancellation (a callback, a task resumed from cancelled()) sees the signal number.
EXECUTOR_API int shutdown_signal() noexcept;

}  // namespace executor::signals
