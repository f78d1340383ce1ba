// Boost.Asio tcp_echo server (../shared/BENCHMARKS.md): the baseline a C++ user would write
// instead of executor's (bench/programs/echo_server_executor.cpp). One io_context run by 2
// threads (bench::workers()) with io_uring as its backend (bench/extra.cmake), C++20 coroutines.
//
//   baseline_asio_echo_server --port=7000 [--host=127.0.0.1]
//
// One accept loop; one coroutine per connection that reads into a 4 KiB buffer and writes back
// what arrived (asio::async_write loops on short writes); TCP_NODELAY on every accepted socket.
// Errors are taken as values (as_tuple), not exceptions. Raises RLIMIT_NOFILE to the hard limit
// (tcp_echo_10k). Runs until killed (SIGTERM).
#include <cstdio>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include <absl/flags/flag.h>
#include <absl/flags/parse.h>
#include <boost/asio/experimental/as_tuple.hpp>

#include "asio_context.hpp"
#include "common/net.hpp"

ABSL_FLAG(std::string, host, "127.0.0.1", "listen address (loopback only)");
ABSL_FLAG(int, port, 7000, "listen port");

namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
constexpr auto kNoThrow = asio::experimental::as_tuple(asio::use_awaitable);
constexpr std::size_t kBufferSize = 4096;  // as in the other servers

asio::awaitable<void> session(tcp::socket s) {
  boost::system::error_code ignored;
  s.set_option(tcp::no_delay(true), ignored);
  char buf[kBufferSize];  // lives in the coroutine frame
  for (;;) {
    auto [ec, n] = co_await s.async_read_some(asio::buffer(buf), kNoThrow);
    if (ec) co_return;  // error, or the client closed (eof)
    auto [wec, sent] = co_await asio::async_write(s, asio::buffer(buf, n), kNoThrow);
    if (wec) co_return;
  }
}

asio::awaitable<void> accept_loop(tcp::acceptor& acceptor) {
  auto ex = co_await asio::this_coro::executor;
  for (;;) {
    auto [ec, sock] = co_await acceptor.async_accept(kNoThrow);
    if (ec) {
      std::fprintf(stderr, "baseline_asio_echo_server: accept: %s\n", ec.message().c_str());
      continue;
    }
    asio::co_spawn(ex, session(std::move(sock)), asio::detached);
  }
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  std::string host = absl::GetFlag(FLAGS_host);
  int port = absl::GetFlag(FLAGS_port);
  sockaddr_storage check;
  socklen_t check_len;
  if (!bench::loopback_address(host, port, check, check_len)) {
    std::fprintf(stderr, "--host must be a loopback address and --port in 1..65535\n");
    return 2;
  }
  bench::raise_fd_limit();
  const int threads = static_cast<int>(bench::workers());
  asio::io_context ctx(threads);
  boost::system::error_code ec;
  tcp::endpoint ep(asio::ip::make_address(host == "localhost" ? "127.0.0.1" : host, ec),
                   static_cast<unsigned short>(port));
  if (ec) {
    std::fprintf(stderr, "bad --host: %s\n", ec.message().c_str());
    return 2;
  }
  tcp::acceptor acceptor(ctx);
  acceptor.open(ep.protocol());
  acceptor.set_option(tcp::acceptor::reuse_address(true));
  acceptor.bind(ep, ec);
  if (ec) {
    std::fprintf(stderr, "bind: %s\n", ec.message().c_str());
    return 1;
  }
  acceptor.listen(1024);
  asio::co_spawn(ctx, accept_loop(acceptor), asio::detached);
  std::vector<std::thread> runners;
  for (int i = 1; i < threads; ++i) runners.emplace_back([&ctx] { ctx.run(); });
  ctx.run();
  for (auto& t : runners) t.join();
  return 0;
}
