// The data file of the `file_read` workload: 256 MiB of pseudo-random bytes, created once
// (atomically: written under a temporary name, then renamed) at $EXECUTOR_BENCH_FILE or
// /tmp/executor-bench-file_read-256MiB.dat, and read through once by the caller's warm-up so it
// is in the page cache. The random offsets (4 KiB aligned) are the same for every
// implementation: each of the 32 streams of reads in flight (a task, a coroutine, a ring slot)
// s = 0..31 reads the fixed xorshift sequence Offsets(s + 1).
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace bench {

inline constexpr std::uint64_t kFileSize = 256ull << 20;
inline constexpr std::uint32_t kBlockSize = 4096;
inline constexpr std::uint64_t kBlocks = kFileSize / kBlockSize;
// Reads in flight (one per stream) and reads per timed iteration (before --ops_fraction).
inline constexpr int kReadStreams = 32;
inline constexpr std::int64_t kReadsPerIteration = 256'000;
static_assert(kReadsPerIteration % kReadStreams == 0);

inline std::string data_file_path() {
  if (const char* p = std::getenv("EXECUTOR_BENCH_FILE")) return p;
  return "/tmp/executor-bench-file_read-256MiB.dat";
}

// Opens the data file read-only, creating it first if it is missing or has the wrong size.
// Exits the process with a message on error.
inline int open_data_file() {
  std::string path = data_file_path();
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || static_cast<std::uint64_t>(st.st_size) != kFileSize) {
    std::string tmp = path + ".tmp." + std::to_string(::getpid());
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
      std::fprintf(stderr, "cannot create %s: %s\n", tmp.c_str(), std::strerror(errno));
      std::exit(1);
    }
    std::vector<std::uint64_t> chunk(1 << 17);  // 1 MiB
    std::uint64_t x = 0x9E3779B97F4A7C15ull;
    for (std::uint64_t written = 0; written < kFileSize; written += chunk.size() * 8) {
      for (auto& v : chunk) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v = x;
      }
      if (::write(fd, chunk.data(), chunk.size() * 8) != static_cast<ssize_t>(chunk.size() * 8)) {
        std::fprintf(stderr, "cannot write %s: %s\n", tmp.c_str(), std::strerror(errno));
        std::exit(1);
      }
    }
    ::close(fd);
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
      std::fprintf(stderr, "cannot rename %s: %s\n", tmp.c_str(), std::strerror(errno));
      std::exit(1);
    }
  }
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    std::fprintf(stderr, "cannot open %s: %s\n", path.c_str(), std::strerror(errno));
    std::exit(1);
  }
  return fd;
}

// The i-th random block offset (the same sequence for every implementation).
class Offsets {
 public:
  explicit Offsets(std::uint64_t seed) : x_(seed * 0x2545F4914F6CDD1Dull + 1) {}
  std::uint64_t next() noexcept {
    x_ ^= x_ >> 12;
    x_ ^= x_ << 25;
    x_ ^= x_ >> 27;
    return ((x_ * 0x2545F4914F6CDD1Dull) >> 11) % kBlocks * kBlockSize;
  }

 private:
  std::uint64_t x_;
};

}  // namespace bench
