// Adaptive spreading's view of the machine (see RuntimeImpl::notify_local): from the number of
// threads running system-wide (including ours), whether one more awake worker would take a CPU
// that another process's thread has to itself ("busy"), and whether the awake workers already
// do ("crowded"). Pure functions, unit-tested in tests/core/cpu_share_test.cpp.
#pragma once

#include <cstdlib>
#include <cstring>
#include <optional>

namespace executor::detail {

struct CpuShare {
  bool busy = false;     // do not wake another worker for work an awake one can run
  bool crowded = false;  // one awake worker should hand its work over and park
};

// running: threads running or runnable in the whole system; ours: this runtime's awake
// threads among them; cpus: online CPUs.
inline CpuShare assess_cpus(unsigned long running, unsigned long ours, unsigned long cpus) {
  unsigned long others = running > ours ? running - ours : 0;
  // When the other threads alone fill every CPU there is no CPU of theirs to protect: the
  // workers take their fair share, as without adaptive spreading.
  bool partial = others > 0 && others < cpus;
  return CpuShare{.busy = partial && ours + others >= cpus,
                  .crowded = partial && ours > 1 && ours + others > cpus};
}

// The running-thread count of /proc/loadavg ("0.52 0.58 0.59 3/412 12345": the 3).
inline std::optional<unsigned long> loadavg_running(const char* text) {
  const char* p = text;
  for (int field = 0; field < 3; ++field) {
    p = std::strchr(p, ' ');
    if (p == nullptr) return std::nullopt;
    ++p;
  }
  char* end = nullptr;
  unsigned long v = std::strtoul(p, &end, 10);
  if (end == p || *end != '/') return std::nullopt;
  return v;
}

}  // namespace executor::detail
