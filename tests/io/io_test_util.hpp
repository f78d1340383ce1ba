// Helpers shared by the executor::io tests.
#pragma once

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include <gtest/gtest.h>

#include <executor/io/io.hpp>
#include <executor/runtime.hpp>

namespace executor::io::testing {

// Open descriptors of this process (to prove nothing leaks).
inline int open_fds() {
  int n = 0;
  DIR* d = ::opendir("/proc/self/fd");
  if (d == nullptr) return -1;
  while (dirent* e = ::readdir(d)) {
    if (e->d_name[0] != '.') ++n;
  }
  ::closedir(d);
  return n - 1;  // the DIR's own descriptor
}

// The backend the suite is registered for (EXECUTOR_BACKEND), to check it is really used.
inline std::string expected_backend() {
  const char* e = std::getenv("EXECUTOR_BACKEND");
  return e != nullptr && std::string(e) == "epoll" ? "epoll" : "io_uring";
}

// A scratch file path, removed by the destructor.
class TempPath {
 public:
  explicit TempPath(const char* tag) {
    const char* dir = std::getenv("TMPDIR");
    path_ = std::string(dir != nullptr ? dir : "/tmp") + "/executor_io_" + tag + "_" +
            std::to_string(::getpid()) + "_" + std::to_string(counter()++);
  }
  ~TempPath() { ::unlink(path_.c_str()); }
  const std::string& str() const { return path_; }

 private:
  static int& counter() {
    static int n = 0;
    return n;
  }
  std::string path_;
};

// Writes `data` to `path` synchronously (test setup).
inline void write_sync(const std::string& path, std::string_view data) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::write(fd, data.data(), data.size()), static_cast<ssize_t>(data.size()));
  ::close(fd);
}

}  // namespace executor::io::testing
