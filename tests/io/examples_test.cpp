// The examples, run as the programs they are: the echo server (echo, SIGTERM with idle
// connections open) and the file-copy tool (a copy, a missing source).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <random>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "io_test_util.hpp"

namespace {

struct Child {
  pid_t pid = -1;
  int out = -1;  // the child's stdout+stderr
};

Child start(std::vector<std::string> args) {
  int p[2];
  EXPECT_EQ(::pipe2(p, O_CLOEXEC), 0);
  Child c;
  c.pid = ::fork();
  if (c.pid == 0) {
    ::dup2(p[1], 1);
    ::dup2(p[1], 2);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(p[1]);
  c.out = p[0];
  return c;
}

std::string read_line(int fd) {
  std::string line;
  char ch;
  while (::read(fd, &ch, 1) == 1 && ch != '\n') line += ch;
  return line;
}

std::string read_all(int fd) {
  std::string s;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) s.append(buf, static_cast<std::size_t>(n));
  return s;
}

int wait_exit(pid_t pid) {
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int connect_to(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  return fd;
}

TEST(Examples, EchoServerEchoesAndStopsOnSigterm) {
  Child c = start({EXECUTOR_ECHO_SERVER, "127.0.0.1:0"});
  std::string first = read_line(c.out);
  ASSERT_EQ(first.rfind("listening on 127.0.0.1:", 0), 0u) << first;
  int port = std::stoi(first.substr(first.rfind(':') + 1));
  std::vector<int> clients;
  for (int i = 0; i < 10; ++i) {
    int fd = connect_to(port);
    std::string msg = "hello " + std::to_string(i);
    ASSERT_EQ(::send(fd, msg.data(), msg.size(), 0), static_cast<ssize_t>(msg.size()));
    std::string got(msg.size(), '\0');
    ASSERT_EQ(::recv(fd, got.data(), got.size(), MSG_WAITALL), static_cast<ssize_t>(msg.size()));
    EXPECT_EQ(got, msg);
    clients.push_back(fd);  // stays open and idle: the server must stop anyway
  }
  ASSERT_EQ(::kill(c.pid, SIGTERM), 0);
  std::string rest = read_all(c.out);
  EXPECT_EQ(wait_exit(c.pid), 0) << rest;
  EXPECT_NE(rest.find("stopped"), std::string::npos) << rest;
  for (int fd : clients) {
    char ch;
    EXPECT_EQ(::recv(fd, &ch, 1, 0), 0);  // the server closed the connection
    ::close(fd);
  }
  ::close(c.out);
}

TEST(Examples, EchoServerRejectsABadAddress) {
  Child c = start({EXECUTOR_ECHO_SERVER, "not-an-address"});
  std::string out = read_all(c.out);
  EXPECT_EQ(wait_exit(c.pid), 2);
  EXPECT_NE(out.find("not-an-address"), std::string::npos) << out;
  ::close(c.out);
}

TEST(Examples, FileCopyCopiesAndReportsErrors) {
  executor::io::testing::TempPath src("copy_src");
  executor::io::testing::TempPath dst("copy_dst");
  std::string data(3 * 1024 * 1024 + 123, '\0');
  std::mt19937 rng(42);
  for (char& ch : data) ch = static_cast<char>(rng());
  executor::io::testing::write_sync(src.str(), data);

  Child c = start({EXECUTOR_FILE_COPY, src.str(), dst.str(), "64", "8"});
  std::string out = read_all(c.out);
  EXPECT_EQ(wait_exit(c.pid), 0) << out;
  ::close(c.out);
  std::ifstream f(dst.str(), std::ios::binary);
  std::stringstream copied;
  copied << f.rdbuf();
  EXPECT_TRUE(copied.str() == data);

  Child m = start({EXECUTOR_FILE_COPY, src.str() + ".missing", dst.str()});
  std::string err = read_all(m.out);
  EXPECT_EQ(wait_exit(m.pid), 1);
  EXPECT_NE(err.find("No such file"), std::string::npos) << err;
  ::close(m.out);
}

}  // namespace
