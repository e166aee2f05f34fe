#pragma once
// The address a listener binds for a configured host: empty = every interface (IPv6 any,
// dual-stack), "localhost" = IPv4 loopback, else an IP literal (IPv6 with or without brackets).

#include <boost/asio/ip/address.hpp>

#include <string>
#include <string_view>

namespace mercure {

// Throws std::runtime_error (start-up) naming `what` ("", " for metrics") for a host that is
// not an IP address.
[[nodiscard]] boost::asio::ip::address resolve_listen_host(const std::string& host, std::string_view what = "");

}  // namespace mercure
