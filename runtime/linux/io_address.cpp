// executor::io::SocketAddress: numeric IPv4/IPv6 parsing and formatting.
#include <arpa/inet.h>
#include <net/if.h>

#include <charconv>
#include <cstring>
#include <string>

#include <fmt/format.h>

#include <executor/io/error.hpp>
#include <executor/io/socket_address.hpp>

namespace executor::io {

namespace {

// The message quotes at most kEcho bytes of the input (it may be anything, of any size).
constexpr std::size_t kEcho = 64;

absl::Status bad_address(std::string_view text, const char* why) {
  std::string msg = text.size() <= kEcho ? fmt::format("{:?} {}", text, why)
                                         : fmt::format("{:?}... ({} bytes) {}",
                                                       text.substr(0, kEcho), text.size(), why);
  return detail::io_invalid("parse address", msg.c_str());
}

bool parse_port(std::string_view s, std::uint16_t& port) {
  if (s.empty() || s.size() > 5) return false;
  unsigned v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v > 65535) return false;
  port = static_cast<std::uint16_t>(v);
  return true;
}

}  // namespace

SocketAddress::SocketAddress() noexcept {
  std::memset(&storage_, 0, sizeof storage_);
  storage_.ss_family = AF_INET;
}

absl::StatusOr<SocketAddress> SocketAddress::parse(std::string_view ip, std::uint16_t port) {
  if (ip.size() >= 64) return bad_address(ip, "is not a numeric IP address");
  char buf[64];
  std::memcpy(buf, ip.data(), ip.size());
  buf[ip.size()] = '\0';
  if (std::memchr(ip.data(), '\0', ip.size()) != nullptr) {
    return bad_address(ip, "contains a NUL byte");
  }
  SocketAddress a;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&a.storage_);
  if (::inet_pton(AF_INET, buf, &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    return a;
  }
  std::memset(&a.storage_, 0, sizeof a.storage_);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&a.storage_);
  char* scope = std::strchr(buf, '%');
  if (scope != nullptr) *scope++ = '\0';
  if (::inet_pton(AF_INET6, buf, &v6->sin6_addr) != 1) {
    return bad_address(ip, "is not a numeric IPv4 or IPv6 address");
  }
  if (scope != nullptr) {
    unsigned id = ::if_nametoindex(scope);
    if (id == 0) {
      auto [p, ec] = std::from_chars(scope, scope + std::strlen(scope), id);
      if (ec != std::errc() || *p != '\0') return bad_address(ip, "has an unknown scope id");
    }
    v6->sin6_scope_id = id;
  }
  v6->sin6_family = AF_INET6;
  v6->sin6_port = htons(port);
  return a;
}

absl::StatusOr<SocketAddress> SocketAddress::parse(std::string_view text) {
  std::string_view host;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    std::size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return bad_address(text, "is not of the form [ipv6]:port");
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    std::size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) return bad_address(text, "has no :port");
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) {
      return bad_address(text, "is an IPv6 address without brackets ([ipv6]:port)");
    }
  }
  std::uint16_t p = 0;
  if (!parse_port(port, p)) return bad_address(text, "has no valid port (0..65535)");
  auto a = parse(host, p);
  if (!a.ok()) return bad_address(text, "is not a numeric IPv4 or [IPv6] address");
  if (text.front() == '[' && !a->is_ipv6()) return bad_address(text, "has an IPv4 address in []");
  return a;
}

SocketAddress SocketAddress::ipv4_loopback(std::uint16_t port) noexcept {
  SocketAddress a;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&a.storage_);
  v4->sin_family = AF_INET;
  v4->sin_port = htons(port);
  v4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

SocketAddress SocketAddress::ipv4_any(std::uint16_t port) noexcept {
  SocketAddress a;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&a.storage_);
  v4->sin_family = AF_INET;
  v4->sin_port = htons(port);
  v4->sin_addr.s_addr = htonl(INADDR_ANY);
  return a;
}

SocketAddress SocketAddress::ipv6_loopback(std::uint16_t port) noexcept {
  SocketAddress a;
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&a.storage_);
  v6->sin6_family = AF_INET6;
  v6->sin6_port = htons(port);
  v6->sin6_addr = in6addr_loopback;
  return a;
}

SocketAddress SocketAddress::ipv6_any(std::uint16_t port) noexcept {
  SocketAddress a;
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&a.storage_);
  v6->sin6_family = AF_INET6;
  v6->sin6_port = htons(port);
  v6->sin6_addr = in6addr_any;
  return a;
}

absl::StatusOr<SocketAddress> SocketAddress::from_native(const sockaddr* sa, socklen_t len) {
  SocketAddress a;
  if (sa == nullptr) return detail::io_invalid("address", "null sockaddr");
  if (sa->sa_family == AF_INET && len >= static_cast<socklen_t>(sizeof(sockaddr_in))) {
    std::memcpy(&a.storage_, sa, sizeof(sockaddr_in));
    return a;
  }
  if (sa->sa_family == AF_INET6 && len >= static_cast<socklen_t>(sizeof(sockaddr_in6))) {
    std::memcpy(&a.storage_, sa, sizeof(sockaddr_in6));
    return a;
  }
  return detail::io_invalid("address", "not an IPv4 or IPv6 socket address");
}

std::uint16_t SocketAddress::port() const noexcept {
  if (is_ipv6()) return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_port);
  return ntohs(reinterpret_cast<const sockaddr_in*>(&storage_)->sin_port);
}

std::string SocketAddress::ip_string() const {
  char buf[INET6_ADDRSTRLEN] = {};
  if (is_ipv6()) {
    ::inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_addr, buf,
                sizeof buf);
  } else {
    ::inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&storage_)->sin_addr, buf,
                sizeof buf);
  }
  return buf;
}

std::string SocketAddress::to_string() const {
  if (is_ipv6()) return fmt::format("[{}]:{}", ip_string(), port());
  return fmt::format("{}:{}", ip_string(), port());
}

bool operator==(const SocketAddress& a, const SocketAddress& b) noexcept {
  if (a.family() != b.family()) return false;
  return std::memcmp(&a.storage_, &b.storage_, a.native_size()) == 0;
}

}  // namespace executor::io
