// Memory and CPU figures of a process, read from /proc (Linux only; benchmarks only).
#pragma once

#include <cstdio>
#include <cstring>

namespace bench {

// Reads a "Key:   1234 kB" line of /proc/<pid>/status; -1 if absent. pid 0 means this process.
inline long proc_status_kb(const char* key, int pid = 0) {
  char path[64];
  if (pid == 0) {
    std::snprintf(path, sizeof path, "/proc/self/status");
  } else {
    std::snprintf(path, sizeof path, "/proc/%d/status", pid);
  }
  std::FILE* f = std::fopen(path, "r");
  if (f == nullptr) return -1;
  char line[256];
  long value = -1;
  std::size_t key_len = std::strlen(key);
  while (std::fgets(line, sizeof line, f) != nullptr) {
    if (std::strncmp(line, key, key_len) == 0 && line[key_len] == ':') {
      std::sscanf(line + key_len + 1, "%ld", &value);
      break;
    }
  }
  std::fclose(f);
  return value;
}

// Peak resident set size of this process so far (VmHWM), in KiB.
inline long peak_rss_kb() {
  return proc_status_kb("VmHWM");
}

}  // namespace bench
