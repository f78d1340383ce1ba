// Diagnostics the core cannot avoid printing: fatal errors and exceptions nobody will observe.
#include <cxxabi.h>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <typeinfo>

#include <fmt/core.h>

#include <executor/detail/task_cell.hpp>
#include <executor/detail/task_header.hpp>

namespace executor::detail {

void fatal(const char* message) noexcept {
  fmt::print(stderr, "{}\n", message);
  std::fflush(stderr);
  std::abort();
}

namespace {
std::string demangle(const char* name) {
  int status = 0;
  char* d = abi::__cxa_demangle(name, nullptr, nullptr, &status);
  std::string r = status == 0 && d != nullptr ? d : name;
  std::free(d);
  return r;
}
}  // namespace

void report_unobserved_exception(std::uint64_t task_id, const std::exception_ptr& e) noexcept {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    fmt::print(stderr, "executor: detached task {} threw {}: {}\n", task_id,
               demangle(typeid(ex).name()), ex.what());
  } catch (...) {
    fmt::print(stderr, "executor: detached task {} threw a non-std::exception\n", task_id);
  }
}

}  // namespace executor::detail
