// Small pieces shared by the bench/*.cpp load generators: plain sockets, no third-party code.
// A header only (CMake builds one executable per bench/*.cpp, not per header).
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <strings.h>
#include <time.h>
#include <array>
#include <bit>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

namespace bench {

inline const char* program_name = "bench";

[[noreturn]] inline void die(const std::string& why) {
  std::fprintf(stderr, "%s: %s\n", program_name, why.c_str());
  std::exit(2);
}

/** CLOCK_MONOTONIC in nanoseconds: comparable between processes of the same machine. */
// Walks a command line of `--name value` options: next() moves to each option, name() is it,
// value() takes the argument after it (dies when there is none).
class ArgReader {
 public:
  ArgReader(int argc, char** argv) : argc_(argc), argv_(argv) {}
  bool next() { return ++i_ < argc_; }
  [[nodiscard]] std::string_view name() const { return argv_[i_]; }
  std::string value() {
    if (i_ + 1 >= argc_) die("missing value for " + std::string(name()));
    return argv_[++i_];
  }

 private:
  int argc_;
  char** argv_;
  int i_ = 0;
};

inline std::int64_t now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

inline std::string url_encode(std::string_view s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

inline void set_nonblocking(int fd) {
  int one = 1;
  ioctl(fd, FIONBIO, &one);
}

inline sockaddr_in ipv4_address(const std::string& host, int port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  if (inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) die("not an IPv4 address: " + host);
  return addr;
}

/**
 * A TCP socket connected (or, when `nonblocking`, connecting) to `dst`, with TCP_NODELAY.
 * `source` (may be empty): the local address to bind first, e.g. 127.0.0.7, so that more
 * connections than one address has ephemeral ports can reach the same server port; the port
 * is still chosen at connect time (IP_BIND_ADDRESS_NO_PORT). Returns -1 with errno set.
 */
inline int tcp_connect(const sockaddr_in& dst, const std::string& source, bool nonblocking) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | (nonblocking ? SOCK_NONBLOCK : 0), 0);
  if (fd < 0) return -1;
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (!source.empty()) {
    setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    sockaddr_in src = ipv4_address(source, 0);
    if (::bind(fd, reinterpret_cast<const sockaddr*>(&src), sizeof src) != 0) {
      int e = errno;
      ::close(fd);
      errno = e;
      return -1;
    }
  }
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&dst), sizeof dst) != 0 && errno != EINPROGRESS) {
    int e = errno;
    ::close(fd);
    errno = e;
    return -1;
  }
  return fd;
}

/** One complete HTTP/1.1 response found at the start of a buffer, its body not copied. */
struct ResponseView {
  int status = 0;
  std::string_view body;  // into the parsed buffer, or (chunked) into the caller's `joined`
  std::size_t size = 0;   // bytes of the buffer the response took
};

/**
 * Parses the response at the start of `in` (status line, headers, then a body delimited by
 * Content-Length or chunked encoding). nullopt while incomplete. Meant for the short answers
 * to POSTs, not for streams. Allocates nothing unless the body is chunked (joined in `joined`).
 */
inline std::optional<ResponseView> parse_response_view(std::string_view in, std::string& joined) {
  auto head_end = in.find("\r\n\r\n");
  if (head_end == std::string_view::npos) return std::nullopt;
  ResponseView r;
  if (in.size() < 12 || in.substr(0, 5) != "HTTP/") return ResponseView{-1, "bad status line", head_end + 4};
  if (std::from_chars(in.data() + 9, in.data() + 12, r.status).ptr != in.data() + 12) {
    return ResponseView{-1, "bad status code", head_end + 4};
  }
  std::string_view head = in.substr(0, head_end);
  std::size_t length = 0;
  bool chunked = false;
  for (std::size_t pos = 0; pos < head.size();) {
    auto eol = head.find("\r\n", pos);
    std::string_view line = head.substr(pos, eol == std::string_view::npos ? std::string_view::npos : eol - pos);
    if (line.size() > 15 && strncasecmp(line.data(), "content-length:", 15) == 0) {
      std::string_view value = line.substr(15);
      while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
      std::from_chars(value.data(), value.data() + value.size(), length);
    } else if (line.size() > 18 && strncasecmp(line.data(), "transfer-encoding:", 18) == 0) {
      chunked = line.find("chunked") != std::string_view::npos;
    }
    if (eol == std::string_view::npos) break;
    pos = eol + 2;
  }
  std::size_t pos = head_end + 4;
  if (!chunked) {
    if (in.size() < pos + length) return std::nullopt;
    r.body = in.substr(pos, length);
    r.size = pos + length;
    return r;
  }
  joined.clear();
  for (;;) {
    auto eol = in.find("\r\n", pos);
    if (eol == std::string_view::npos) return std::nullopt;
    std::size_t n = std::strtoull(std::string(in.substr(pos, eol - pos)).c_str(), nullptr, 16);
    pos = eol + 2;
    if (n == 0) {  // no trailers expected: the last chunk is followed by an empty line
      if (in.size() < pos + 2) return std::nullopt;
      r.size = pos + 2;
      r.body = joined;
      return r;
    }
    if (in.size() < pos + n + 2) return std::nullopt;
    joined.append(in.substr(pos, n));
    pos += n + 2;
  }
}

/** One complete HTTP/1.1 response found at the start of a buffer. */
struct Response {
  int status = 0;
  std::string body;      // decoded (chunked bodies are joined)
  std::size_t size = 0;  // bytes of the buffer the response took
};

/** parse_response_view, with the body copied. */
inline std::optional<Response> parse_response(std::string_view in) {
  std::string joined;
  auto view = parse_response_view(in, joined);
  if (!view) return std::nullopt;
  return Response{view->status, std::string(view->body), view->size};
}

/**
 * A log-linear histogram of nanosecond values: 64 sub-buckets per power of two (error under
 * 1.6%), values up to 2^44 ns (4.9 hours). Fixed size, so it can live in shared memory and be
 * merged by adding counts.
 */
struct Histogram {
  static constexpr int kSubBits = 6;
  static constexpr int kSub = 1 << kSubBits;
  static constexpr int kBuckets = (44 - kSubBits + 1) * kSub;
  std::array<std::uint64_t, kBuckets> counts{};

  static int index(std::uint64_t v) {
    if (v < kSub) return static_cast<int>(v);
    if (v >= (std::uint64_t{1} << 44)) v = (std::uint64_t{1} << 44) - 1;
    int e = 63 - std::countl_zero(v);  // >= kSubBits
    return (e - kSubBits + 1) * kSub + static_cast<int>((v >> (e - kSubBits)) & (kSub - 1));
  }
  /** The middle of the bucket. */
  static double value(int i) {
    if (i < kSub) return i;
    int e = i / kSub + kSubBits - 1;
    double lo = static_cast<double>((std::uint64_t{kSub} + static_cast<std::uint64_t>(i % kSub)) << (e - kSubBits));
    return lo + static_cast<double>(std::uint64_t{1} << (e - kSubBits)) / 2;
  }
  void add(std::int64_t ns) { ++counts[static_cast<std::size_t>(index(ns < 0 ? 0 : static_cast<std::uint64_t>(ns)))]; }
  void merge(const Histogram& o) {
    for (std::size_t i = 0; i < counts.size(); ++i) counts[i] += o.counts[i];
  }
  std::uint64_t total() const {
    std::uint64_t n = 0;
    for (auto c : counts) n += c;
    return n;
  }
  /** p in [0, 1]; 0 when empty. */
  double percentile(double p) const {
    std::uint64_t n = total();
    if (n == 0) return 0;
    auto rank = static_cast<std::uint64_t>(p * static_cast<double>(n - 1)) + 1;
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < counts.size(); ++i) {
      seen += counts[i];
      if (seen >= rank) return value(static_cast<int>(i));
    }
    return value(kBuckets - 1);
  }
};

}  // namespace bench
