#include "http/listen_host.hpp"

#include <stdexcept>

namespace mercure {

boost::asio::ip::address resolve_listen_host(const std::string& host, std::string_view what) {
  namespace ip = boost::asio::ip;
  if (host.empty()) return ip::address_v6::any();  // dual-stack; callers fall back to IPv4
  if (host == "localhost") return ip::address_v4::loopback();
  std::string h = host;
  if (h.size() > 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  boost::system::error_code ec;
  auto addr = ip::make_address(h, ec);
  if (ec)
    throw std::runtime_error("cannot listen" + std::string(what) + " on host \"" + host + "\": not an IP address");
  return addr;
}

}  // namespace mercure
