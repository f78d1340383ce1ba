#include "available_cpus.hpp"

#include <sched.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <sstream>
#include <thread>
#include <vector>

namespace executor::detail {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\n' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\n' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

// A whole decimal integer (optionally negative), nothing else.
std::optional<long long> parse_int(std::string_view s) {
  s = trim(s);
  if (s.empty() || s.size() > 20) return std::nullopt;
  std::string copy(s);
  char* end = nullptr;
  long long v = std::strtoll(copy.c_str(), &end, 10);
  if (end != copy.c_str() + copy.size()) return std::nullopt;
  return v;
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  for (;;) {
    std::size_t i = s.find(sep);
    out.push_back(s.substr(0, i));
    if (i == std::string_view::npos) return out;
    s.remove_prefix(i + 1);
  }
}

bool names(std::string_view list, std::string_view item) {
  for (std::string_view v : split(list, ',')) {
    if (v == item) return true;
  }
  return false;
}

std::optional<std::string> read_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// The cgroup directory of this process under `m`, given its path in that hierarchy.
std::string cgroup_dir(const CgroupMount& m, const std::string& path) {
  if (m.root == "/") return m.mount_point + (path == "/" ? "" : path);
  if (path.rfind(m.root, 0) == 0) return m.mount_point + path.substr(m.root.size());
  return m.mount_point;  // outside the mount's view: its root is the best we can read
}

// The tightest quota from `dir` up to `top` (inclusive), read by `quota_of(dir)`.
template <class F>
std::optional<double> tightest(std::string dir, const std::string& top, F quota_of) {
  std::optional<double> best;
  for (;;) {
    if (auto q = quota_of(dir); q && (!best || *q < *best)) best = q;
    if (dir.size() <= top.size()) return best;
    std::size_t slash = dir.rfind('/');
    if (slash == std::string::npos || slash < top.size()) return best;
    dir.resize(slash);
  }
}

std::optional<double> quota_v2(const std::string& mountinfo, const std::string& cgroup) {
  auto m = cgroup_mount(mountinfo, "");
  auto path = cgroup_path(cgroup, "");
  if (!m || !path) return std::nullopt;
  return tightest(cgroup_dir(*m, *path), m->mount_point,
                  [](const std::string& dir) -> std::optional<double> {
                    auto text = read_file(dir + "/cpu.max");
                    return text ? parse_cpu_max(*text) : std::nullopt;
                  });
}

std::optional<double> quota_v1(const std::string& mountinfo, const std::string& cgroup) {
  auto m = cgroup_mount(mountinfo, "cpu");
  auto path = cgroup_path(cgroup, "cpu");
  if (!m || !path) return std::nullopt;
  return tightest(cgroup_dir(*m, *path), m->mount_point,
                  [](const std::string& dir) -> std::optional<double> {
                    auto quota = read_file(dir + "/cpu.cfs_quota_us");
                    auto period = read_file(dir + "/cpu.cfs_period_us");
                    return quota && period ? parse_cfs_quota(*quota, *period) : std::nullopt;
                  });
}

}  // namespace

std::optional<double> parse_cpu_max(std::string_view text) {
  auto fields = split(trim(text), ' ');
  if (fields.size() != 2 || fields[0] == "max") return std::nullopt;
  auto quota = parse_int(fields[0]);
  auto period = parse_int(fields[1]);
  if (!quota || !period || *quota <= 0 || *period <= 0) return std::nullopt;
  return static_cast<double>(*quota) / static_cast<double>(*period);
}

std::optional<double> parse_cfs_quota(std::string_view quota, std::string_view period) {
  auto q = parse_int(quota);
  auto p = parse_int(period);
  if (!q || !p || *q <= 0 || *p <= 0) return std::nullopt;  // -1: no quota
  return static_cast<double>(*q) / static_cast<double>(*p);
}

std::optional<std::string> cgroup_path(std::string_view proc_self_cgroup,
                                       std::string_view controller) {
  for (std::string_view line : split(proc_self_cgroup, '\n')) {
    // hierarchy-id:controller-list:path (the path may itself contain ':')
    std::size_t a = line.find(':');
    if (a == std::string_view::npos) continue;
    std::size_t b = line.find(':', a + 1);
    if (b == std::string_view::npos) continue;
    std::string_view id = line.substr(0, a);
    std::string_view list = line.substr(a + 1, b - a - 1);
    std::string_view path = line.substr(b + 1);
    if (path.empty() || path.front() != '/') continue;
    bool match = controller.empty() ? (id == "0" && list.empty()) : names(list, controller);
    if (match) return std::string(path);
  }
  return std::nullopt;
}

std::optional<CgroupMount> cgroup_mount(std::string_view mountinfo, std::string_view controller) {
  for (std::string_view line : split(mountinfo, '\n')) {
    // id parent major:minor root mount-point options [optional...] - fstype source super-options
    auto fields = split(line, ' ');
    auto dash = std::find(fields.begin(), fields.end(), std::string_view("-"));
    if (fields.size() < 5 || dash == fields.end() || std::distance(dash, fields.end()) < 4) {
      continue;
    }
    std::string_view fstype = dash[1];
    std::string_view super = dash[3];
    bool match =
        controller.empty() ? fstype == "cgroup2" : fstype == "cgroup" && names(super, controller);
    if (match) return CgroupMount{std::string(fields[4]), std::string(fields[3])};
  }
  return std::nullopt;
}

unsigned available_cpus() noexcept {
  try {
    unsigned cpus = 0;
    cpu_set_t set;
    if (::sched_getaffinity(0, sizeof set, &set) == 0) cpus = CPU_COUNT(&set);
    if (cpus == 0) {
      unsigned hc = std::thread::hardware_concurrency();
      cpus = hc == 0 ? 1 : hc;
    }
    auto mountinfo = read_file("/proc/self/mountinfo");
    auto cgroup = read_file("/proc/self/cgroup");
    if (mountinfo && cgroup) {
      std::optional<double> quota = quota_v2(*mountinfo, *cgroup);
      if (auto v1 = quota_v1(*mountinfo, *cgroup); v1 && (!quota || *v1 < *quota)) quota = v1;
      if (quota) {
        double ceiling = std::ceil(*quota - 1e-9);
        if (ceiling < cpus) cpus = ceiling < 1 ? 1 : static_cast<unsigned>(ceiling);
      }
    }
    return cpus;
  } catch (...) {  // std::bad_alloc while reading: fall back to the affinity count
    unsigned hc = std::thread::hardware_concurrency();
    return hc == 0 ? 1 : hc;
  }
}

}  // namespace executor::detail
