// Test helper: sets EXECUTOR_SPREAD for the runtimes constructed in its scope (the runtime reads
// it at construction) and restores the previous value afterwards.
#pragma once

#include <cstdlib>
#include <string>

namespace executor::testing {

class SpreadMode {
 public:
  explicit SpreadMode(const char* mode) {
    if (const char* old = std::getenv("EXECUTOR_SPREAD")) old_ = old, had_ = true;
    ::setenv("EXECUTOR_SPREAD", mode, 1);
  }
  ~SpreadMode() {
    if (had_) {
      ::setenv("EXECUTOR_SPREAD", old_.c_str(), 1);
    } else {
      ::unsetenv("EXECUTOR_SPREAD");
    }
  }
  SpreadMode(const SpreadMode&) = delete;
  SpreadMode& operator=(const SpreadMode&) = delete;

 private:
  std::string old_;
  bool had_ = false;
};

}  // namespace executor::testing
