// The allocation behind a spawned task: its header, its root coroutine and its result.
#pragma once

#include <cstdint>
#include <new>
#include <utility>

#include <executor/detail/frame_allocator.hpp>
#include <executor/detail/result.hpp>
#include <executor/detail/task_header.hpp>
#include <executor/export.hpp>
#include <executor/task.hpp>

namespace executor::detail {

#if EXECUTOR_HAS_EXCEPTIONS
// Logs (to stderr, with the task id) an exception nobody will observe. src/log.cpp.
EXECUTOR_API void report_unobserved_exception(std::uint64_t task_id,
                                              const std::exception_ptr& e) noexcept;
#endif

template <class T>
class TaskCell final : public TaskHeader {
 public:
  using Root = typename Task<T>::handle_type;

  explicit TaskCell(Root root) noexcept : TaskHeader(&kVTable), root_(root) { resume_point = root; }

  static void* operator new(std::size_t size) noexcept { return allocate_frame(size); }
  static void operator delete(void* p, std::size_t size) noexcept { free_frame(p, size); }

  Result<T>& result() noexcept { return result_; }

 private:
  ~TaskCell() {
    if (root_) root_.destroy();
  }
  static bool root_done(TaskHeader* h) noexcept { return static_cast<TaskCell*>(h)->root_.done(); }
  static void finish(TaskHeader* h) noexcept {
    auto* c = static_cast<TaskCell*>(h);
    c->root_.promise().result().move_to(c->result_);
    std::exchange(c->root_, {}).destroy();
  }
  static void cancel(TaskHeader* h) noexcept {
    auto* c = static_cast<TaskCell*>(h);
    if (c->root_) std::exchange(c->root_, {}).destroy();
    c->result_.set_cancelled();
  }
  static void dealloc(TaskHeader* h) noexcept { delete static_cast<TaskCell*>(h); }
  static void report_unobserved(TaskHeader* h) noexcept {
#if EXECUTOR_HAS_EXCEPTIONS
    auto* c = static_cast<TaskCell*>(h);
    if (const std::exception_ptr* e = c->result_.exception()) {
      report_unobserved_exception(c->id, *e);
    }
#else
    (void)h;
#endif
  }
  static constexpr TaskVTable kVTable{&root_done, &finish, &cancel, &dealloc, &report_unobserved};

  Root root_;
  Result<T> result_;
};

}  // namespace executor::detail
