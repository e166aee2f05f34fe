#include "app/config.hpp"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <limits>

namespace mercure {
namespace {

constexpr std::string_view kDurationExamples = "(examples: 40s, 500ms, 1m30s)";

[[noreturn]] void fail(const std::string& reason) {
  throw std::invalid_argument(reason);
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

// Nanoseconds per unit; 0 for an unknown unit.
std::uint64_t unit_nanoseconds(std::string_view unit) {
  if (unit == "ns") return 1;
  if (unit == "us" || unit == "\xC2\xB5s" /* U+00B5 */ || unit == "\xCE\xBCs" /* U+03BC */) return 1'000;
  if (unit == "ms") return 1'000'000;
  if (unit == "s") return 1'000'000'000;
  if (unit == "m") return 60'000'000'000;
  if (unit == "h") return 3'600'000'000'000;
  if (unit == "d") return 86'400'000'000'000;
  return 0;
}

__extension__ using Wide = unsigned __int128;  // exact products of a decimal fraction and a unit

std::uint16_t parse_port(std::string_view text) {
  if (text == "http") return 80;
  if (text == "https") return 443;
  if (text.empty()) fail("missing port (examples: :3000, 127.0.0.1:3000, [::1]:3000)");
  if (!std::all_of(text.begin(), text.end(), is_digit)) fail("not a port number");
  if (text.size() > 5) fail("port out of range (0-65535)");
  unsigned long value = std::stoul(std::string(text));
  if (value > 65535) fail("port out of range (0-65535)");
  return static_cast<std::uint16_t>(value);
}

void check_host_name(std::string_view host, bool allow_wildcard) {
  for (char c : host) {
    const bool ok =
        std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_' || (allow_wildcard && c == '*');
    if (!ok) fail("not a host name or IP address");
  }
}

void check_ipv6_literal(std::string_view host) {
  if (host.empty()) fail("empty IPv6 address between brackets");
  for (char c : host) {
    const bool ok = std::isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.' || c == '%' ||
                    std::isalnum(static_cast<unsigned char>(c));  // zone ids: fe80::1%eth0
    if (!ok) fail("not an IPv6 address");
  }
}

// Splits "host:port", ":port", "[v6]:port" or (when port_optional) "host" / "[v6]".
// Returns the host (brackets removed) and the port text (empty when absent).
std::pair<std::string, std::string> split_host_port(std::string_view text, bool port_optional) {
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos) fail("missing ']' after the IPv6 address");
    std::string host(text.substr(1, close - 1));
    check_ipv6_literal(host);
    std::string_view rest = text.substr(close + 1);
    if (rest.empty()) {
      if (!port_optional) fail("missing port (examples: :3000, 127.0.0.1:3000, [::1]:3000)");
      return {host, ""};
    }
    if (rest.front() != ':') fail("unexpected text after ']' (expected :port)");
    return {host, std::string(rest.substr(1))};
  }
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos) {
    if (!port_optional) fail("missing port (examples: :3000, 127.0.0.1:3000, [::1]:3000)");
    return {std::string(text), ""};
  }
  std::string_view host = text.substr(0, colon);
  if (host.find(':') != std::string_view::npos) fail("an IPv6 address needs brackets (example: [::1]:3000)");
  std::string_view port = text.substr(colon + 1);
  if (port.empty()) fail("missing port after ':'");
  return {std::string(host), std::string(port)};
}

}  // namespace

std::string_view trim(std::string_view s) {
  const auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  while (!s.empty() && blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && blank(s.back())) s.remove_suffix(1);
  return s;
}

std::chrono::milliseconds parse_duration(std::string_view text) {
  std::string_view s = trim(text);
  if (s.empty()) fail(std::string("not a duration: empty ") + std::string(kDurationExamples));
  bool negative = false;
  if (s.front() == '+' || s.front() == '-') {
    negative = s.front() == '-';
    s.remove_prefix(1);
  }
  if (s == "0") return std::chrono::milliseconds{0};
  if (s.empty()) fail(std::string("not a duration ") + std::string(kDurationExamples));

  constexpr auto kMax = static_cast<Wide>(std::numeric_limits<std::int64_t>::max());
  Wide total = 0;
  bool only_number = true;
  while (!s.empty()) {
    // The number: digits, optionally '.', optionally digits; at least one digit overall.
    Wide whole = 0;
    Wide fraction = 0;
    Wide scale = 1;
    std::size_t digits = 0;
    std::size_t i = 0;
    for (; i < s.size() && is_digit(s[i]); ++i, ++digits) {
      whole = whole * 10 + static_cast<unsigned>(s[i] - '0');
      if (whole > kMax) fail("duration too large (at most 292 years)");
    }
    if (i < s.size() && s[i] == '.') {
      for (++i; i < s.size() && is_digit(s[i]); ++i, ++digits) {
        if (scale < static_cast<Wide>(1'000'000'000'000'000'000ULL)) {  // further digits are below 1ns
          fraction = fraction * 10 + static_cast<unsigned>(s[i] - '0');
          scale *= 10;
        }
      }
    }
    if (digits == 0) fail(std::string("not a duration ") + std::string(kDurationExamples));
    // The unit: everything up to the next number.
    std::size_t j = i;
    while (j < s.size() && !is_digit(s[j]) && s[j] != '.') ++j;
    std::string_view unit = s.substr(i, j - i);
    if (unit.empty()) {
      if (only_number && j == s.size()) {
        fail(std::string("not a duration: a number needs a unit ") + std::string(kDurationExamples));
      }
      fail(std::string("not a duration ") + std::string(kDurationExamples));
    }
    only_number = false;
    const std::uint64_t ns = unit_nanoseconds(unit);
    if (ns == 0) {
      fail("not a duration: unknown unit \"" + std::string(unit) +
           "\" (units: ns, us, ms, s, m, h, d; examples: 40s, 500ms)");
    }
    total += whole * ns + fraction * ns / scale;
    if (total > kMax) fail("duration too large (at most 292 years)");
    s.remove_prefix(j);
  }
  if (negative && total != 0) fail("negative durations are not allowed");
  const auto ms = static_cast<std::int64_t>((total + 999'999) / 1'000'000);  // round up: never 0 by accident
  return std::chrono::milliseconds{ms};
}

std::string format_duration(std::chrono::milliseconds d) {
  std::int64_t ms = d.count();
  if (ms == 0) return "0s";
  std::string out;
  if (ms < 0) {
    out = "-";
    ms = -ms;
  }
  if (ms < 1000) return out + std::to_string(ms) + "ms";
  const std::int64_t hours = ms / 3'600'000;
  const std::int64_t minutes = (ms / 60'000) % 60;
  const std::int64_t seconds = (ms / 1000) % 60;
  const std::int64_t millis = ms % 1000;
  if (hours > 0) out += std::to_string(hours) + "h";
  if (hours > 0 || minutes > 0) out += std::to_string(minutes) + "m";
  out += std::to_string(seconds);
  if (millis != 0) {
    std::string frac = std::to_string(1000 + millis).substr(1);  // 3 digits
    while (frac.back() == '0') frac.pop_back();
    out += "." + frac;
  }
  return out + "s";
}

std::uint64_t parse_count(std::string_view text) {
  const std::string_view s = trim(text);
  if (s.empty() || !std::all_of(s.begin(), s.end(), is_digit)) {
    if (!s.empty() && s.front() == '-') fail("must not be negative");
    fail("not a whole number");
  }
  if (s.size() > 18) fail("too large");
  return std::stoull(std::string(s));
}

std::uint64_t parse_size(std::string_view text) {
  const std::string_view s = trim(text);
  std::size_t digits = 0;
  while (digits < s.size() && is_digit(s[digits])) ++digits;
  if (digits == 0) {
    if (!s.empty() && s.front() == '-') fail("must not be negative");
    fail("not a size (examples: 1MiB, 64KiB, 8192)");
  }
  const std::uint64_t number = parse_count(s.substr(0, digits));
  const std::string unit = lower(trim(s.substr(digits)));
  std::uint64_t scale = 0;
  if (unit.empty() || unit == "b") scale = 1;
  if (unit == "kb") scale = 1000;
  if (unit == "kib") scale = 1024;
  if (unit == "mb") scale = 1000 * 1000;
  if (unit == "mib") scale = 1024 * 1024;
  if (unit == "gb") scale = 1000 * 1000 * 1000;
  if (unit == "gib") scale = 1024 * 1024 * 1024;
  if (scale == 0) fail("not a size: unknown unit \"" + unit + "\" (units: B, KB, KiB, MB, MiB, GB, GiB)");
  if (number > (std::uint64_t{1} << 63) / scale) fail("size too large");
  return number * scale;
}

bool parse_bool(std::string_view text) {
  const std::string v = lower(trim(text));
  if (v == "1" || v == "true" || v == "yes" || v == "on") return true;
  if (v == "0" || v == "false" || v == "no" || v == "off") return false;
  fail("not a boolean (use true/false, 1/0, yes/no or on/off)");
}

std::vector<std::string> parse_list(std::string_view text) {
  std::vector<std::string> items;
  std::string current;
  for (char c : text) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == ',') {
      if (!current.empty()) items.push_back(std::move(current));
      current.clear();
    } else {
      current += c;
    }
  }
  if (!current.empty()) items.push_back(std::move(current));
  return items;
}

ListenAddress parse_listen_address(std::string_view text) {
  std::string_view s = trim(text);
  if (s.empty()) fail("empty address (examples: :3000, 127.0.0.1:3000, [::1]:3000)");
  if (s.find("://") != std::string_view::npos) fail("an address is host:port, without a scheme (example: :3000)");
  auto [host, port] = split_host_port(s, /*port_optional=*/false);
  if (!host.empty() && s.front() != '[') check_host_name(host, /*allow_wildcard=*/false);
  return ListenAddress{host, parse_port(port)};
}

SiteAddress parse_site_address(std::string_view text) {
  std::string_view s = trim(text);
  if (s.empty()) fail("empty server name (examples: :80, localhost:3000, example.com)");
  if (s.find_first_of(", \t\n") != std::string_view::npos) fail("several addresses are not supported; give one");
  SiteAddress site;
  const std::string head = lower(s.substr(0, std::min<std::size_t>(s.size(), 8)));
  if (head.starts_with("http://")) {
    s.remove_prefix(7);
    site.scheme = "http";
  } else if (head.starts_with("https://")) {
    s.remove_prefix(8);
    site.scheme = "https";
  } else if (s.find("://") != std::string_view::npos) {
    fail("unsupported scheme (use http:// or https://, or none)");
  }
  if (s.find('/') != std::string_view::npos) fail("a path is not supported in a server name");
  auto [host, port] = split_host_port(s, /*port_optional=*/true);
  if (!host.empty() && s.front() != '[') check_host_name(host, /*allow_wildcard=*/true);
  site.host = lower(host);
  if (!port.empty()) site.port = parse_port(port);
  return site;
}

bool public_certificate_name(std::string_view host) {
  if (host.empty() || host.find('.') == std::string_view::npos || host.find('*') != std::string_view::npos)
    return false;
  if (host.front() == '.' || host.back() == '.') return false;
  // An IPv4 address (digits and dots only); an IPv6 one has no dot-only form and ':' is refused.
  if (std::all_of(host.begin(), host.end(),
                  [](char c) { return std::isdigit(static_cast<unsigned char>(c)) || c == '.'; })) {
    return false;
  }
  if (host.find(':') != std::string_view::npos) return false;
  for (std::string_view local : {".localhost", ".local", ".internal", ".home.arpa"}) {
    if (host.ends_with(local)) return false;
  }
  return true;
}

bool SiteAddress::automatic_https() const {
  // Caddy serves a site on the HTTP port (example.com:80) in plain HTTP.
  if (scheme == "http" || (scheme.empty() && port == std::uint16_t{80})) return false;
  return public_certificate_name(host);
}

std::string Config::acme_domain() const {
  if (!cert_file.empty() || site.empty() || auto_https == "off" || auto_https == "disable_certs") return "";
  // Bound to the HTTP port (ADDR=:80 beside a public SERVER_NAME): plain HTTP, as name:80 is.
  if (listen_port == 80) return "";
  try {
    const SiteAddress address = parse_site_address(site);
    return address.automatic_https() ? address.host : "";
  } catch (const std::invalid_argument&) {
    return "";  // refused when the setting was read
  }
}

std::string Config::redirect_domain() const {
  if (site.empty() || auto_https == "off" || auto_https == "disable_redirects" || listen_port == 80 ||
      listen_port == http_port) {
    return "";
  }
  if (cert_file.empty() && acme_domain().empty()) return "";  // not served over HTTPS
  try {
    const SiteAddress address = parse_site_address(site);
    return address.automatic_https() ? address.host : "";
  } catch (const std::invalid_argument&) {
    return "";
  }
}

namespace {

std::uint16_t site_port(const SiteAddress& site) {
  const bool https = site.scheme == "https" || site.automatic_https();
  return site.port.value_or(https ? std::uint16_t{443} : std::uint16_t{80});
}

}  // namespace

std::string primary_site_address(std::string_view text) {
  std::vector<std::string> addresses;
  std::string current;
  for (char c : text) {
    if (c == ',' || c == ' ' || c == '\t' || c == '\n') {
      if (!current.empty()) addresses.push_back(std::move(current));
      current.clear();
    } else {
      current += c;
    }
  }
  if (!current.empty()) addresses.push_back(std::move(current));
  if (addresses.size() <= 1) return std::string(trim(text));
  const SiteAddress first = parse_site_address(addresses.front());
  for (const std::string& address : addresses) {
    const SiteAddress site = parse_site_address(address);
    if (site.automatic_https()) {
      fail("several addresses with a public name are not supported (its certificate is for one name): give one");
    }
    if (site_port(site) != site_port(first) || (site.scheme == "https") != (first.scheme == "https")) {
      fail("several addresses on different ports or schemes are not supported (the hub listens on one port)");
    }
  }
  return addresses.front();
}

ListenAddress parse_server_name(std::string_view text) {
  return ListenAddress{"", site_port(parse_site_address(primary_site_address(text)))};
}

std::string unfold_pem(std::string key) {
  if (key.find("-----BEGIN") == std::string::npos || key.find('\n') != std::string::npos) return key;
  std::string out;
  for (std::size_t i = 0; i < key.size(); ++i) {
    if (key[i] == '\\' && i + 1 < key.size() && key[i + 1] == 'n') {
      out += '\n';
      ++i;
    } else if (key[i] == '\\' && i + 3 < key.size() && key.compare(i, 4, "\\r\\n") == 0) {
      out += '\n';
      i += 3;
    } else {
      out += key[i];
    }
  }
  return out;
}

}  // namespace mercure
