// Fuzz target: a whole HTTP request fed to an in-process hub.
//
// Once per process, the real Server (src/http) is started on 127.0.0.1, port 0, with one
// worker, a LocalTransport, a Hub, an Authorizer (HS256 keys for both roles, anonymous
// subscribers allowed), active subscriptions, metrics, the UI and its demo endpoints: every
// route is reachable. Timeouts are short so that no input holds the hub for long.
// Per input: connect, write the bytes, half-close, read the answer until the hub closes
// (deadline kCloseDeadline), close with RST (SO_LINGER 0, no TIME_WAIT), then wait until the
// hub has released the connection (its open-connections gauge is back to 0).
// Properties:
//   - the hub never crashes (ASan/UBSan in its threads abort the process);
//   - the answer is empty or starts with a well-formed status line, and a complete header block
//     has well-formed fields; no 5xx but 503 (a 500 is an internal error: a bug);
//   - after the client half-closed, the hub closes the connection within kCloseDeadline and
//     releases it (no connection left behind);
//   - every kHealthEvery inputs, GET /healthz answers 200 and an authorized publish answers
//     200 with an id: the hub still serves normal requests.
//
// MERCURE_FUZZ_WRITE_SEEDS=<dir>: write seed requests (with a valid publisher token) to <dir>, exit.
// MERCURE_FUZZ_VERBOSE=1: print each input's size and the status line of its answer.

#include "app/prometheus_metrics.hpp"
#include "core/authorizer.hpp"
#include "core/clock.hpp"
#include "core/hub.hpp"
#include "core/jwt_signer.hpp"
#include "core/local_transport.hpp"
#include "core/selector_cache.hpp"
#include "core/sharded_metrics.hpp"
#include "core/subscription_registry.hpp"
#include "core/uuid.hpp"
#include "http/server.hpp"

#include "fuzz_check.hpp"

#include <spdlog/spdlog.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace {

using namespace mercure;
using Clock = std::chrono::steady_clock;

constexpr std::string_view kSecret = "mercure-fuzz-http-secret-0123456789";
constexpr auto kCloseDeadline = std::chrono::seconds(3);
constexpr auto kReleaseDeadline = std::chrono::seconds(3);
constexpr std::size_t kMaxAnswer = 1 << 20;
constexpr unsigned kHealthEvery = 64;

struct Fixture {
  SystemClock clock;
  Authorizer authorizer{JwtKey{JwtAlgorithm::HS256, std::string(kSecret)},
                        JwtKey{JwtAlgorithm::HS256, std::string(kSecret)}, clock};
  LocalTransport transport;
  SelectorCache selectors{1000};
  UuidGenerator uuids;
  Hub hub{transport, selectors, uuids};
  SubscriptionRegistry subscriptions;
  ShardedMetrics metrics{1};
  PrometheusMetrics page{metrics, "fuzz"};
  std::unique_ptr<Server> server;
  std::string token;  // publish ["*"], subscribe ["*"], no exp
  std::uint16_t port = 0;
};

Fixture* g_fixture = nullptr;
unsigned g_inputs = 0;
bool g_verbose = false;  // MERCURE_FUZZ_VERBOSE=1: one line per input (size -> status line)

ServerOptions fuzz_options() {
  ServerOptions o;
  o.host = "127.0.0.1";
  o.port = 0;
  o.workers = 1;
  o.anonymous = true;
  o.cors_origins = {"https://example.com"};
  o.publish_origins = {"https://example.com"};
  o.heartbeat = std::chrono::milliseconds(50);
  o.write_timeout = std::chrono::milliseconds(2'000);
  o.dispatch_timeout = std::chrono::milliseconds(1'000);
  o.read_timeout = std::chrono::milliseconds(1'000);
  o.idle_timeout = std::chrono::milliseconds(1'000);
  o.shutdown_grace = std::chrono::milliseconds(500);
  o.max_body_bytes = 64 * 1024;
  o.max_header_bytes = 8 * 1024;
  o.subscriptions = true;
  o.ui = true;
  o.demo = true;
  return o;
}

void start_hub() {
  spdlog::set_level(spdlog::level::off);  // one line per rejected request otherwise
  std::signal(SIGPIPE, SIG_IGN);
  auto* f = new Fixture;  // lives for the whole process: the hub's threads use it until exit
  f->transport.add_listener([f](const Transport::UpdatePtr& u) { f->subscriptions.observe(*u); });
  f->hub.set_subscriptions(&f->subscriptions);
  f->server = std::make_unique<Server>(fuzz_options(), f->hub, f->authorizer, f->transport, f->metrics, &f->page);
  f->server->start();
  f->port = f->server->port();
  auto token = sign_jwt(JwtAlgorithm::HS256, kSecret, R"({"mercure":{"publish":["*"],"subscribe":["*"]}})");
  if (!token) fuzz::fail(__FILE__, __LINE__, "cannot sign the fixture's token");
  f->token = *token;
  g_fixture = f;
}

// ---- A blocking client with deadlines ----------------------------------------------------------

int connect_hub() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) fuzz::fail(__FILE__, __LINE__, "socket() failed");
  const linger lg{1, 0};  // close() resets: no TIME_WAIT pile-up over millions of inputs
  ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  const timeval tv{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(g_fixture->port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    // libFuzzer's timeout timer (SIGALRM) interrupts connect(): the connection then completes
    // in the background, and SO_ERROR tells how it ended.
    int error = errno;
    if (error == EINTR) {
      pollfd p{fd, POLLOUT, 0};
      while (::poll(&p, 1, 5'000) < 0 && errno == EINTR) {
      }
      socklen_t len = sizeof error;
      if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len) != 0) error = errno;
    }
    if (error != 0) fuzz::fail(__FILE__, __LINE__, "cannot connect to the in-process hub", std::strerror(error));
  }
  return fd;
}

// Writes what the hub takes; the hub may close early (an error answer), which is fine.
void write_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
}

struct Answer {
  std::string bytes;
  bool closed = false;  // EOF or reset before the deadline
};

Answer read_until_closed(int fd, Clock::duration deadline) {
  Answer a;
  const auto until = Clock::now() + deadline;
  char buf[16 * 1024];
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()).count();
    if (left <= 0) return a;
    pollfd p{fd, POLLIN, 0};
    const int r = ::poll(&p, 1, static_cast<int>(left));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return a;
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      a.closed = true;
      return a;
    }
    if (a.bytes.size() < kMaxAnswer) a.bytes.append(buf, static_cast<std::size_t>(n));
  }
}

Answer round_trip(std::string_view request, Clock::duration deadline) {
  const int fd = connect_hub();
  write_all(fd, request);
  ::shutdown(fd, SHUT_WR);
  Answer a = read_until_closed(fd, deadline);
  ::close(fd);
  return a;
}

std::int64_t open_connections() {
  const auto s = g_fixture->metrics.snapshot();
  std::int64_t n = 0;
  for (const auto c : s.connections) n += c;
  return n;
}

void wait_released() {
  const auto until = Clock::now() + kReleaseDeadline;
  while (open_connections() != 0) {
    if (Clock::now() > until) fuzz::fail(__FILE__, __LINE__, "the hub did not release a closed connection");
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
}

// ---- Well-formed answers --------------------------------------------------------------------

bool is_tchar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// "HTTP/1.x DDD reason" then fields; checks what is complete. Returns the status, or 0.
int check_response_head(std::string_view bytes) {
  const std::size_t eol = bytes.find("\r\n");
  const std::string_view status_line = bytes.substr(0, eol);
  FUZZ_CHECK_MSG(status_line.starts_with("HTTP/1.1 ") || status_line.starts_with("HTTP/1.0 ") ||
                     (status_line.size() < 9 && std::string_view("HTTP/1.1 ").starts_with(status_line)),
                 status_line);
  if (eol == std::string_view::npos) return 0;  // cut short: the hub closed or timed out
  FUZZ_CHECK_MSG(status_line.size() >= 12 && (status_line.size() == 12 || status_line[12] == ' '), status_line);
  int status = 0;
  for (std::size_t i = 9; i < 12; ++i) {
    FUZZ_CHECK_MSG(status_line[i] >= '0' && status_line[i] <= '9', status_line);
    status = status * 10 + (status_line[i] - '0');
  }
  FUZZ_CHECK_MSG(status >= 100 && status <= 599, status_line);
  FUZZ_CHECK_MSG(status < 500 || status == 503, std::string(bytes.substr(0, 512)));
  const std::size_t end = bytes.find("\r\n\r\n");
  if (end == std::string_view::npos) return status;
  std::string_view fields = bytes.substr(eol + 2, end - eol - 2 + 2);  // each line with its CRLF
  while (!fields.empty()) {
    const std::size_t e = fields.find("\r\n");
    const std::string_view line = fields.substr(0, e);
    fields.remove_prefix(e + 2);
    const std::size_t colon = line.find(':');
    FUZZ_CHECK_MSG(colon != std::string_view::npos && colon > 0, line);
    for (std::size_t i = 0; i < colon; ++i) FUZZ_CHECK_MSG(is_tchar(line[i]), line);
    for (const char c : line.substr(colon + 1)) {
      FUZZ_CHECK_MSG(c != '\r' && c != '\n' && c != '\0', line);
    }
  }
  return status;
}

void check_answer(const Answer& a) {
  if (a.bytes.empty()) return;
  const int status = check_response_head(a.bytes);
  if (status == 100) {
    // The interim answer is followed by the final one, if anything.
    const std::size_t next = a.bytes.find("\r\n\r\n") + 4;
    if (next < a.bytes.size()) check_response_head(std::string_view(a.bytes).substr(next));
  }
}

void check_still_serving() {
  const Answer health =
      round_trip("GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", std::chrono::seconds(5));
  FUZZ_CHECK_MSG(health.bytes.starts_with("HTTP/1.1 200 "), health.bytes);
  wait_released();
  const std::string body = "topic=https%3A%2F%2Fexample.com%2Ffuzz&data=still+alive";
  const std::string publish =
      "POST /.well-known/mercure HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer " + g_fixture->token +
      "\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: " + std::to_string(body.size()) +
      "\r\nConnection: close\r\n\r\n" + body;
  const Answer published = round_trip(publish, std::chrono::seconds(5));
  FUZZ_CHECK_MSG(published.bytes.starts_with("HTTP/1.1 200 "), published.bytes);
  FUZZ_CHECK_MSG(published.bytes.find("urn:uuid:") != std::string::npos, published.bytes);
  wait_released();
}

// ---- Seeds ---------------------------------------------------------------------------------

std::string post(std::string_view extra_headers, std::string_view body) {
  return "POST /.well-known/mercure HTTP/1.1\r\nHost: localhost\r\n" + std::string(extra_headers) +
         "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\n\r\n" + std::string(body);
}

void write_seeds(const char* dir) {
  const std::string bearer = "Authorization: Bearer " + g_fixture->token + "\r\n";
  const std::string cookie = "Cookie: mercureAuthorization=" + g_fixture->token + "\r\n";
  const std::vector<std::pair<std::string, std::string>> seeds = {
      {"healthz", "GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n"},
      {"healthz-ready-head", "HEAD /healthz/ready HTTP/1.1\r\nHost: localhost\r\n\r\n"},
      {"metrics", "GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n"},
      {"not-found", "GET /nowhere?x=1 HTTP/1.1\r\nHost: localhost\r\n\r\n"},
      {"subscribe-anonymous",
       "GET /.well-known/mercure?topic=https%3A%2F%2Fexample.com%2Fbooks%2F1&topic=%2Fbooks%2F%7Bid%7D "
       "HTTP/1.1\r\nHost: localhost\r\nAccept: text/event-stream\r\n\r\n"},
      {"subscribe-last-event-id",
       "GET /.well-known/mercure?topic=*&lastEventID=earliest HTTP/1.1\r\nHost: localhost\r\n"
       "Last-Event-ID: urn:uuid:0190a1a0-0000-7000-8000-000000000000\r\n\r\n"},
      {"subscribe-query-token",
       "GET /.well-known/mercure?topic=*&authorization=" + g_fixture->token + " HTTP/1.1\r\nHost: localhost\r\n\r\n"},
      {"subscribe-cookie", "GET /.well-known/mercure?topic=a HTTP/1.1\r\nHost: localhost\r\n" + cookie +
                               "Origin: https://example.com\r\n\r\n"},
      {"subscribe-bad-token",
       "GET /.well-known/mercure?topic=a HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer e30.e30.x\r\n\r\n"},
      {"subscribe-no-topic", "GET /.well-known/mercure HTTP/1.1\r\nHost: localhost\r\n\r\n"},
      {"subscribe-http10", "GET /.well-known/mercure?topic=a HTTP/1.0\r\n\r\n"},
      {"publish", post(bearer, "topic=https%3A%2F%2Fexample.com%2Fbooks%2F1&data=%7B%22a%22%3A1%7D")},
      {"publish-all-fields",
       post(bearer, "topic=a&topic=b&data=line1%0Aline2%0D%0Aline3&id=my-id&type=update&retry=1500&private=on")},
      {"publish-cookie", post(cookie + "Origin: https://example.com\r\n", "topic=a&data=x")},
      {"publish-cookie-foreign-origin", post(cookie + "Origin: https://evil.example\r\n", "topic=a&data=x")},
      {"publish-no-token", post("", "topic=a&data=x")},
      {"publish-no-topic", post(bearer, "data=x")},
      {"publish-bad-escape", post(bearer, "topic=a%zz")},
      {"publish-reserved-topic", post(bearer, "topic=%2F.well-known%2Fmercure%2Fsubscriptions%2Fx&data=x")},
      {"publish-expect-continue", post(bearer + "Expect: 100-continue\r\n", "topic=a&data=continued")},
      {"publish-chunked", "POST /.well-known/mercure HTTP/1.1\r\nHost: localhost\r\n" + bearer +
                              "Content-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n"
                              "7\r\ntopic=a\r\n7\r\n&data=x\r\n0\r\n\r\n"},
      {"publish-short-body",
       "POST /.well-known/mercure HTTP/1.1\r\nHost: localhost\r\n" + bearer + "Content-Length: 100\r\n\r\ntopic=a"},
      {"preflight",
       "OPTIONS /.well-known/mercure HTTP/1.1\r\nHost: localhost\r\nOrigin: https://example.com\r\n"
       "Access-Control-Request-Method: POST\r\nAccess-Control-Request-Headers: authorization\r\n\r\n"},
      {"delete", "DELETE /.well-known/mercure HTTP/1.1\r\nHost: localhost\r\n\r\n"},
      {"subscriptions", "GET /.well-known/mercure/subscriptions HTTP/1.1\r\nHost: localhost\r\n" + bearer + "\r\n"},
      {"subscriptions-topic",
       "GET /.well-known/mercure/subscriptions/https%3A%2F%2Fexample.com%2Fa HTTP/1.1\r\nHost: localhost\r\n" + bearer +
           "\r\n"},
      {"ui", "GET /.well-known/mercure/ui/ HTTP/1.1\r\nHost: localhost\r\n\r\n"},
      {"demo", "GET /.well-known/mercure/ui/demo/books/1.jsonld?body=x&jwt=y HTTP/1.1\r\nHost: localhost\r\n\r\n"},
      {"pipelined", "GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n" + post(bearer, "topic=a&data=1") +
                        "GET /healthz/ready HTTP/1.1\r\nHost: localhost\r\n\r\n"},
      {"garbage", "GARBAGE\r\n\r\n"},
      {"bad-version", "GET / HTTP/9.9\r\n\r\n"},
      {"header-no-colon", "GET /healthz HTTP/1.1\r\nHost localhost\r\n\r\n"},
  };
  for (const auto& [name, bytes] : seeds) std::ofstream(std::string(dir) + "/" + name, std::ios::binary) << bytes;
  std::printf("wrote %zu requests to %s\n", seeds.size(), dir);
  std::fflush(stdout);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  g_verbose = std::getenv("MERCURE_FUZZ_VERBOSE") != nullptr;
  start_hub();
  if (const char* dir = std::getenv("MERCURE_FUZZ_WRITE_SEEDS")) {
    write_seeds(dir);
    std::_Exit(0);
  }
  check_still_serving();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const Answer a = round_trip(std::string_view(reinterpret_cast<const char*>(data), size), kCloseDeadline);
  check_answer(a);
  if (g_verbose) {
    const std::string_view head(a.bytes.data(), std::min(a.bytes.size(), a.bytes.find("\r\n")));
    std::fprintf(stderr, "%zu bytes -> %.*s%s\n", size, static_cast<int>(head.size()), head.data(),
                 a.closed ? "" : " (not closed)");
  }
  FUZZ_CHECK_MSG(a.closed, a.bytes.substr(0, 512));  // the hub must close a half-closed connection
  wait_released();
  if (++g_inputs % kHealthEvery == 0) check_still_serving();
  return 0;
}
