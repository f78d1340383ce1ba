// The worked example of docs/cancellation.md (tests/cancel/programs/bundle_server.cpp) as a real
// child process: it serves connections, then stops all three components on SIGTERM and exits 0;
// or a failing component stops the others and the program exits 1 naming it.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <string>

#include "child_process.hpp"

namespace {

using namespace std::chrono_literals;
using cancel_test::Child;

// A config file in the test's temporary directory.
std::string config_file(const char* content) {
  std::string path = testing::TempDir() + "bundle_server_" + std::to_string(::getpid()) + ".conf";
  std::ofstream(path) << content << "\n";
  return path;
}

int port_of(const std::string& out) {
  auto at = out.find("listening on port ");
  if (at == std::string::npos) return -1;
  return std::stoi(out.substr(at + 18));
}

std::string fetch(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  std::string r;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    char buf[64];
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) r.assign(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return r;
}

TEST(BundleServer, ServesThenStopsEveryComponentOnSigterm) {
  std::string config = config_file("threads=4");
  Child c({EXECUTOR_BUNDLE_SERVER, config}, /*block_signals=*/true);
  ASSERT_TRUE(c.started());
  ASSERT_TRUE(c.wait_for_output("metrics:", 10s)) << c.output();
  int port = port_of(c.output());
  ASSERT_GT(port, 0) << c.output();
  EXPECT_EQ(fetch(port), "hello\n");
  EXPECT_EQ(fetch(port), "hello\n");

  ASSERT_TRUE(c.signal_until_output(SIGTERM, "stopped", 10s)) << c.output() << c.threads();
  EXPECT_EQ(c.wait_exit(10s), 0) << c.output();
  const std::string& out = c.output();
  EXPECT_THAT(out, testing::HasSubstr("accept loop stopped"));
  EXPECT_THAT(out, testing::HasSubstr("metrics loop stopped"));
  EXPECT_THAT(out, testing::HasSubstr("config watcher stopped"));
  EXPECT_THAT(out, testing::HasSubstr("shut down on signal 15"));
  EXPECT_THAT(out, testing::HasSubstr("cleanup done: accepted=2"));
  std::remove(config.c_str());
}

TEST(BundleServer, AFailingComponentStopsTheOthersAndIsNamed) {
  std::string config = config_file("threads=4");
  Child c({EXECUTOR_BUNDLE_SERVER, config}, /*block_signals=*/true);
  ASSERT_TRUE(c.started());
  ASSERT_TRUE(c.wait_for_output("metrics:", 10s)) << c.output();
  std::this_thread::sleep_for(20ms);  // a different mtime than the first version
  std::ofstream(config) << "fail\n";
  EXPECT_EQ(c.wait_exit(10s), 1) << c.output();
  const std::string& out = c.output();
  EXPECT_THAT(out, testing::HasSubstr("task 'config' (#2) failed: bad config"));
  EXPECT_THAT(out, testing::HasSubstr("accept loop stopped"));
  EXPECT_THAT(out, testing::HasSubstr("metrics loop stopped"));
  EXPECT_THAT(out, testing::HasSubstr("cleanup done"));
  std::remove(config.c_str());
}

}  // namespace
