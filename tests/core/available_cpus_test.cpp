// The default worker count (runtime/linux/available_cpus.hpp): the affinity mask capped by the
// cgroups' CPU quota. The parsers are checked on the kernel files' formats; the whole rule on
// real processes: a child under taskset, and, where this machine lets us make a cgroup with a
// CPU quota, a child inside one.
#include <sched.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include <executor/runtime.hpp>

#include "available_cpus.hpp"

namespace {

using executor::detail::cgroup_mount;
using executor::detail::cgroup_path;
using executor::detail::parse_cfs_quota;
using executor::detail::parse_cpu_max;

TEST(AvailableCpus, ParsesCpuMax) {
  EXPECT_EQ(parse_cpu_max("max 100000\n"), std::nullopt);
  EXPECT_DOUBLE_EQ(*parse_cpu_max("150000 100000\n"), 1.5);
  EXPECT_DOUBLE_EQ(*parse_cpu_max("50000 100000"), 0.5);
  for (const char* bad : {"", "\n", "100000", "abc 100000", "100000 0", "-5 100000", "1 2 3"}) {
    EXPECT_EQ(parse_cpu_max(bad), std::nullopt) << bad;
  }
}

TEST(AvailableCpus, ParsesCfsQuota) {
  EXPECT_EQ(parse_cfs_quota("-1\n", "100000\n"), std::nullopt);
  EXPECT_DOUBLE_EQ(*parse_cfs_quota("200000\n", "100000\n"), 2.0);
  EXPECT_EQ(parse_cfs_quota("x", "100000"), std::nullopt);
  EXPECT_EQ(parse_cfs_quota("100000", "0"), std::nullopt);
}

TEST(AvailableCpus, FindsTheProcessCgroup) {
  const char* v1 = "12:cpuset:/\n4:cpu,cpuacct:/kubepods/pod1/c2\n1:name=systemd:/x\n0::/v2/path\n";
  EXPECT_EQ(cgroup_path(v1, "cpu"), "/kubepods/pod1/c2");
  EXPECT_EQ(cgroup_path(v1, "cpuset"), "/");
  EXPECT_EQ(cgroup_path(v1, ""), "/v2/path");
  EXPECT_EQ(cgroup_path("3:cpuacct:/a\n", "cpu"), std::nullopt);  // cpuacct is not cpu
  EXPECT_EQ(cgroup_path("", "cpu"), std::nullopt);
  EXPECT_EQ(cgroup_path("0::/a:b\n", ""), "/a:b");  // a path may contain ':'
}

TEST(AvailableCpus, FindsTheCgroupMount) {
  const char* mountinfo =
      "22 1 0:20 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
      "23 22 0:21 / /sys/fs/cgroup/cpuacct rw,relatime shared:7 - cgroup cgroup rw,cpuacct\n"
      "24 22 0:22 /docker/abc /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n"
      "25 22 0:23 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n";
  auto v1 = cgroup_mount(mountinfo, "cpu");
  ASSERT_TRUE(v1);
  EXPECT_EQ(v1->mount_point, "/sys/fs/cgroup/cpu,cpuacct");
  EXPECT_EQ(v1->root, "/docker/abc");
  auto v2 = cgroup_mount(mountinfo, "");
  ASSERT_TRUE(v2);
  EXPECT_EQ(v2->mount_point, "/sys/fs/cgroup/unified");
  EXPECT_EQ(cgroup_mount("garbage line\n\n- - -\n", "cpu"), std::nullopt);
}

TEST(AvailableCpus, AtLeastOneAndAtMostTheAffinityMask) {
  cpu_set_t set;
  ASSERT_EQ(::sched_getaffinity(0, sizeof set, &set), 0);
  unsigned n = executor::available_parallelism();
  EXPECT_GE(n, 1u);
  EXPECT_LE(n, static_cast<unsigned>(CPU_COUNT(&set)));
}

std::string run(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
  if (p == nullptr) return out;
  char buf[256];
  while (std::fgets(buf, sizeof buf, p) != nullptr) out += buf;
  ::pclose(p);
  return out;
}

std::string print_workers() {
  return EXECUTOR_TEST_PROGRAMS "/core_print_workers";
}

TEST(AvailableCpus, ChildUnderTasksetGetsOneWorker) {
  if (std::system("command -v taskset >/dev/null 2>&1") != 0) GTEST_SKIP() << "no taskset";
  EXPECT_THAT(run("taskset -c 0 " + print_workers()), testing::HasSubstr("workers=1"));
  // The environment still overrides, and an invalid value is ignored with one line.
  EXPECT_THAT(run("EXECUTOR_WORKERS=3 taskset -c 0 " + print_workers()),
              testing::HasSubstr("workers=3"));
  std::string out = run("EXECUTOR_WORKERS=1025 taskset -c 0 " + print_workers());
  EXPECT_THAT(out, testing::HasSubstr("workers=1"));
  EXPECT_THAT(out, testing::HasSubstr("ignoring EXECUTOR_WORKERS=\"1025\""));
}

// A scratch cgroup with a CPU quota (v1 cpu controller or v2 cpu.max), removed at the end; the
// child joins it before exec. Skipped where no cgroup is writable.
class QuotaCgroup {
 public:
  explicit QuotaCgroup(long quota_us, long period_us) {
    namespace fs = std::filesystem;
    std::string name = "executor-test-" + std::to_string(::getpid());
    for (const char* v1 : {"/sys/fs/cgroup/cpu", "/sys/fs/cgroup/cpu,cpuacct"}) {
      if (!fs::exists(std::string(v1) + "/cpu.cfs_quota_us")) continue;
      dir_ = std::string(v1) + "/" + name;
      std::error_code ec;
      if (!fs::create_directory(dir_, ec)) break;
      ok_ = write("cpu.cfs_period_us", std::to_string(period_us)) &&
            write("cpu.cfs_quota_us", std::to_string(quota_us));
      return;
    }
    if (fs::exists("/sys/fs/cgroup/cgroup.controllers")) {
      dir_ = "/sys/fs/cgroup/" + name;
      std::error_code ec;
      if (fs::create_directory(dir_, ec)) {
        ok_ = write("cpu.max", std::to_string(quota_us) + " " + std::to_string(period_us));
      }
    }
  }
  ~QuotaCgroup() {
    if (!dir_.empty()) ::rmdir(dir_.c_str());
  }
  bool ok() const { return ok_; }
  // A shell prefix that moves the shell into the cgroup and then runs the command.
  std::string enter() const { return "echo $$ > " + dir_ + "/cgroup.procs && exec "; }

 private:
  bool write(const char* file, const std::string& v) {
    std::ofstream f(dir_ + "/" + file);
    f << v;
    f.flush();
    return static_cast<bool>(f);
  }
  std::string dir_;
  bool ok_ = false;
};

TEST(AvailableCpus, ChildInAQuotaCgroupGetsTheCeilingOfItsQuota) {
  cpu_set_t set;
  ASSERT_EQ(::sched_getaffinity(0, sizeof set, &set), 0);
  if (CPU_COUNT(&set) < 2) GTEST_SKIP() << "needs 2 CPUs";
  {
    QuotaCgroup half(50'000, 100'000);
    if (!half.ok()) GTEST_SKIP() << "no writable cgroup with a CPU controller";
    EXPECT_THAT(run("sh -c '" + half.enter() + print_workers() + "'"),
                testing::HasSubstr("workers=1"));
  }
  {
    QuotaCgroup one_and_a_half(150'000, 100'000);
    ASSERT_TRUE(one_and_a_half.ok());
    EXPECT_THAT(run("sh -c '" + one_and_a_half.enter() + print_workers() + "'"),
                testing::HasSubstr("workers=2"));
  }
}

}  // namespace
