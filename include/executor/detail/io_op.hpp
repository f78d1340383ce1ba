// The base of every operation handed to the completion thread (no virtuals: a link and two
// function pointers). The runtime never owns the memory of an IoOp: whoever submits it keeps it
// alive until `complete` has run.
#pragma once

#include <cstdint>

#include <executor/export.hpp>

namespace executor::detail {

struct IoOp {
  IoOp* next = nullptr;  // submission-queue link, owned by the runtime while queued
  // Fills the submission entry (an `io_uring_sqe*`); runs on the completion thread.
  void (*prep)(IoOp* op, void* sqe) noexcept = nullptr;
  // The final completion (result as the kernel's cqe->res, flags as cqe->flags); runs on the
  // completion thread. After it returns the runtime never touches `op` again.
  void (*complete)(IoOp* op, int res, std::uint32_t flags) noexcept = nullptr;
};

// Hands `op` to the completion thread of the running task's runtime (any thread).
EXECUTOR_API void submit_io(IoOp* op);

// An IORING_OP_NOP round trip (the cheapest operation; used by tests and benchmarks).
EXECUTOR_API void prep_nop(IoOp* op, void* sqe) noexcept;

}  // namespace executor::detail
