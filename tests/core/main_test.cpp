// EXECUTOR_MAIN programs run as child processes: exit codes, grace period, root exceptions.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <chrono>
#include <cstdio>
#include <string>

namespace {

struct ChildRun {
  int exit_code = -1;
  std::string out;
  double seconds = 0;
};

ChildRun run(const std::string& cmd) {
  auto start = std::chrono::steady_clock::now();
  ChildRun r;
  FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
  if (p == nullptr) return r;
  char buf[512];
  while (std::fgets(buf, sizeof buf, p) != nullptr) r.out += buf;
  int status = ::pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return r;
}

std::string program(const char* name) {
  return std::string(EXECUTOR_TEST_PROGRAMS) + "/" + name;
}

TEST(Main, ReturnsTheRootTasksExitCode) {
  EXPECT_EQ(run(program("core_main_exit_code") + " 0").exit_code, 0);
  EXPECT_EQ(run(program("core_main_exit_code") + " 42").exit_code, 42);
}

TEST(Main, VoidRootExitsZero) {
  ChildRun r = run(program("core_main_void"));
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_THAT(r.out, testing::HasSubstr("void main ran"));
}

TEST(Main, RootExceptionIsLoggedAndExitsOne) {
  ChildRun r = run("EXECUTOR_TEST_THROW=1 " + program("core_main_void"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.out, testing::HasSubstr("root failed"));
}

TEST(Main, GracePeriodLetsCleanupTasksFinish) {
  ChildRun r = run("EXECUTOR_GRACE_MS=5000 " + program("core_main_grace") + " 100");
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_THAT(r.out, testing::HasSubstr("cleanup done"));
  EXPECT_LT(r.seconds, 4.0);  // exits as soon as the cleanup is done, not at the end of the grace
}

TEST(Main, ExitsAfterGraceWithoutCancellingOrWaitingForever) {
  ChildRun r = run("EXECUTOR_GRACE_MS=100 " + program("core_main_grace") + " 60000");
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_THAT(r.out, testing::Not(testing::HasSubstr("cleanup done")));
  EXPECT_THAT(r.out, testing::HasSubstr("1 task(s) still running"));
  EXPECT_LT(r.seconds, 30.0);
}

TEST(Main, BadEnvironmentIsReportedNotFatal) {
  ChildRun r = run("EXECUTOR_GRACE_MS=soon " + program("core_main_exit_code") + " 5");
  EXPECT_EQ(r.exit_code, 5);
  EXPECT_THAT(r.out, testing::HasSubstr("ignoring EXECUTOR_GRACE_MS"));
}

// A runtime setting that cannot be ignored (the scheduler's or the backend's mode) stops the
// program before its root task runs: the reason on stderr, exit status 70.
TEST(Main, BadRuntimeModeIsReportedAndExits70) {
  ChildRun r = run("EXECUTOR_SPREAD=sideways " + program("core_main_exit_code") + " 5");
  EXPECT_EQ(r.exit_code, 70);
  EXPECT_THAT(r.out, testing::HasSubstr("EXECUTOR_SPREAD=\"sideways\""));
  r = run("EXECUTOR_SPREAD=packed " + program("core_main_exit_code") + " 5");
  EXPECT_EQ(r.exit_code, 5);
}

// Out-of-range worker counts are ignored with one line (the default count is used), not fatal.
TEST(Main, OutOfRangeWorkerCountIsIgnored) {
  for (const char* v : {"1025", "0", "-3", "99999999999999999999"}) {
    ChildRun r =
        run(std::string("EXECUTOR_WORKERS=") + v + " " + program("core_main_exit_code") + " 5");
    EXPECT_EQ(r.exit_code, 5) << v << ": " << r.out;
    EXPECT_THAT(r.out, testing::HasSubstr("ignoring EXECUTOR_WORKERS")) << v;
  }
}

// A grace period too long to add to the clock waits (saturated), instead of overflowing into
// one already past: the cleanup task still gets to finish.
TEST(Main, HugeGracePeriodSaturates) {
  for (const char* v : {"9300000000000", "9223372036854775807"}) {
    ChildRun r =
        run(std::string("EXECUTOR_GRACE_MS=") + v + " " + program("core_main_grace") + " 300");
    EXPECT_EQ(r.exit_code, 3) << v;
    EXPECT_THAT(r.out, testing::HasSubstr("cleanup done")) << v << ": " << r.out;
  }
}

// std::exit() from a task while the Runtime has static storage: its destructor runs on the
// worker that called exit; the process exits with the given status, no "Resource deadlock
// avoided" abort.
TEST(Main, StdExitFromATaskWithAStaticRuntime) {
  for (int i = 0; i < 5; ++i) {
    ChildRun r = run(program("core_static_exit"));
    EXPECT_EQ(r.exit_code, 7) << r.out;
    EXPECT_THAT(r.out, testing::Not(testing::HasSubstr("deadlock")));
  }
}

// Runtime::abandon() while detached tasks sleep, yield and spawn, many times: every worker is
// stopped, none stays parked (the child would hang; `timeout` turns that into status 124).
TEST(Main, AbandonUnderLoadAlwaysReturns) {
  ChildRun r = run("timeout 120 " + program("core_abandon_rounds") + " 300");
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_THAT(r.out, testing::HasSubstr("abandoned 300 runtimes"));
}

}  // namespace
