// How many CPUs this process may run on: the default worker count (RuntimeOptions::workers = 0).
//
// Two limits apply, and a server in a container usually has both: the CPUs in the thread's
// affinity mask (taskset, cpuset cgroups) and a CFS bandwidth quota (cgroup v2 `cpu.max`, v1
// `cpu.cfs_quota_us` / `cpu.cfs_period_us`; docker's --cpus, Kubernetes CPU limits). The
// quota of every cgroup from ours up to the root counts; the tightest wins. A quota of 1.5 CPUs
// gives 2 workers: the ceiling, so a fractional share is not left unused (Go rounds the same
// way). The online-CPU count of the machine is neither: a container on a 64-core host limited
// to 2 CPUs that starts 64 workers spends its quota on context switches.
//
// The parsers are pure functions over the text of the kernel's files (unit-tested in
// tests/core/available_cpus_test.cpp); available_cpus() reads the files of the calling process.
// Called once per Runtime construction, on the constructing thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace executor::detail {

// cgroup v2 `cpu.max` ("max 100000" or "150000 100000"): the quota in CPUs, nullopt for none or
// unparseable text.
std::optional<double> parse_cpu_max(std::string_view text);
// cgroup v1 `cpu.cfs_quota_us` ("-1" for none) and `cpu.cfs_period_us`.
std::optional<double> parse_cfs_quota(std::string_view quota, std::string_view period);

// The cgroup of the process for one hierarchy, from /proc/self/cgroup: the v2 entry ("0::/a/b")
// when controller is empty, else the v1 line whose controller list names it ("4:cpu,cpuacct:/a").
std::optional<std::string> cgroup_path(std::string_view proc_self_cgroup,
                                       std::string_view controller);

// A cgroup mount from /proc/self/mountinfo: where it is mounted and which cgroup its root is
// (inside a cgroup namespace or a bind mount the root is not "/").
struct CgroupMount {
  std::string mount_point;
  std::string root;
};
// The cgroup2 mount when controller is empty, else the v1 mount whose super options name it.
std::optional<CgroupMount> cgroup_mount(std::string_view mountinfo, std::string_view controller);

// min(affinity CPUs, ceil(tightest quota)), at least 1.
unsigned available_cpus() noexcept;

}  // namespace executor::detail
