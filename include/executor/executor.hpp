// Umbrella header: the core API of executor.
#pragma once

#include <executor/cancellation_token.hpp>
#include <executor/join_handle.hpp>
#include <executor/main.hpp>
#include <executor/run_until_cancelled.hpp>
#include <executor/runtime.hpp>
#include <executor/signals.hpp>
#include <executor/sleep.hpp>
#include <executor/spawn.hpp>
#include <executor/spawn_blocking.hpp>
#include <executor/task.hpp>
#include <executor/task_result_bundle.hpp>
#include <executor/timeout.hpp>
#include <executor/when_all.hpp>
#include <executor/when_any.hpp>
#include <executor/yield.hpp>
