// executor::io::SocketAddress: an IPv4 or IPv6 address with a port (no name resolution).
//
//   auto a = io::SocketAddress::parse("127.0.0.1:8080");   // StatusOr
//   auto b = io::SocketAddress::parse("[::1]:8080");
//   auto c = io::SocketAddress::parse("::1", 8080);
//   auto d = io::SocketAddress::ipv4_loopback(0);           // port 0: the kernel picks one
//
// Errors: parse() yields kInvalidArgument for text that is not a numeric IPv4/IPv6 address
// with a port in 0..65535; the message quotes at most the first 64 bytes of the text (and its
// length). Thread safety: a value type.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <string_view>

#include <absl/status/statusor.h>

#include <executor/export.hpp>

namespace executor::io {

class EXECUTOR_API SocketAddress {
 public:
  SocketAddress() noexcept;  // 0.0.0.0:0

  // "1.2.3.4:80" or "[v6]:80" (a v6 scope id like "[fe80::1%eth0]:80" is accepted).
  static absl::StatusOr<SocketAddress> parse(std::string_view host_port);
  // A numeric IPv4 or IPv6 address and a port.
  static absl::StatusOr<SocketAddress> parse(std::string_view ip, std::uint16_t port);
  static SocketAddress ipv4_loopback(std::uint16_t port) noexcept;
  static SocketAddress ipv6_loopback(std::uint16_t port) noexcept;
  static SocketAddress ipv4_any(std::uint16_t port) noexcept;
  static SocketAddress ipv6_any(std::uint16_t port) noexcept;
  // From a kernel sockaddr (AF_INET or AF_INET6); kInvalidArgument for anything else.
  static absl::StatusOr<SocketAddress> from_native(const sockaddr* sa, socklen_t len);

  bool is_ipv4() const noexcept { return storage_.ss_family == AF_INET; }
  bool is_ipv6() const noexcept { return storage_.ss_family == AF_INET6; }
  int family() const noexcept { return storage_.ss_family; }
  std::uint16_t port() const noexcept;
  // "1.2.3.4:80" / "[::1]:80" (parse() accepts it back).
  std::string to_string() const;
  // The address without the port: "1.2.3.4" / "::1".
  std::string ip_string() const;

  const sockaddr* native() const noexcept { return reinterpret_cast<const sockaddr*>(&storage_); }
  socklen_t native_size() const noexcept {
    return is_ipv6() ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
  }

  friend EXECUTOR_API bool operator==(const SocketAddress& a, const SocketAddress& b) noexcept;

 private:
  sockaddr_storage storage_;
};

}  // namespace executor::io
