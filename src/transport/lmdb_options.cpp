#include "transport/lmdb_options.hpp"

#include "core/form_data.hpp"
#include "transport/url_query.hpp"

#include <charconv>
#include <cmath>
#include <optional>

namespace mercure {

namespace {

constexpr std::size_t kMinMapSize = std::size_t{1} << 20;
constexpr std::size_t kMaxBatchLimit = 1'000'000;
constexpr std::string_view kLmdbSuffix = ".lmdb";

Error bad(std::string reason) {
  return Error{Errc::bad_request, std::move(reason)};
}

Result<void> apply_parameter(LmdbOptions& o, const std::string& key, const std::string& value) {
  if (key == "size") {
    auto n = parse_unsigned<std::uint64_t>(value);
    if (!n) return bad("parameter \"size\": " + quoted(value) + " is not a number of events (0 = unbounded)");
    o.size = *n;
  } else if (key == "cleanup_frequency") {
    double f = 0;
    const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), f);
    if (ec != std::errc{} || end != value.data() + value.size() || !std::isfinite(f) || f < 0 || f > 1) {
      return bad("parameter \"cleanup_frequency\": " + quoted(value) + " is not a number between 0 and 1");
    }
    o.cleanup_frequency = f;
  } else if (key == "map_size") {
    auto n = parse_unsigned<std::size_t>(value);
    if (!n || *n < kMinMapSize) {
      return bad("parameter \"map_size\": " + quoted(value) + " is not a size in bytes of at least 1048576 (1 MiB)");
    }
    o.map_size = *n;
  } else if (key == "sync") {
    auto b = parse_bool_parameter(value);
    if (!b) return bad("parameter \"sync\": " + quoted(value) + " is not one of 0, 1, true, false");
    o.sync = *b;
  } else if (key == "max_batch") {
    auto n = parse_unsigned<std::size_t>(value);
    if (!n || *n == 0 || *n > kMaxBatchLimit) {
      return bad("parameter \"max_batch\": " + quoted(value) + " is not a number between 1 and 1000000");
    }
    o.max_batch = *n;
  } else if (key == "bucket_name") {
    // Accepted and ignored: the reference hub's Bolt bucket has no equivalent here.
  } else {
    return bad("unknown parameter " + quoted(key) +
               " (known: size, cleanup_frequency, map_size, sync, max_batch, bucket_name)");
  }
  return {};
}

}  // namespace

Result<LmdbOptions> parse_lmdb_url(std::string_view url) {
  bool bolt = false;
  std::string_view rest;
  if (url.starts_with("lmdb:")) {
    rest = url.substr(5);
  } else if (url.starts_with("bolt:")) {
    rest = url.substr(5);
    bolt = true;
  } else {
    return bad("not an lmdb:// or bolt:// URL");
  }
  if (rest.find('#') != std::string_view::npos) return bad("the URL must not have a fragment (\"#...\")");

  const std::size_t question = rest.find('?');
  std::string_view hier = rest.substr(0, question);
  const std::string_view query = question == std::string_view::npos ? std::string_view{} : rest.substr(question + 1);

  if (!hier.empty()) {
    if (!hier.starts_with("//")) {
      return bad("expected \"//\" after the scheme (lmdb:///absolute/dir or lmdb://relative/dir)");
    }
    hier.remove_prefix(2);  // "//host/path" -> "host/path"; "///abs" -> "/abs"
  }
  auto path = percent_decode(hier, false);
  if (!path) return bad("path: bad percent-encoding");
  if (path->find('\0') != std::string::npos) return bad("path: must not contain a NUL byte");

  LmdbOptions o;
  auto applied = for_each_query_parameter(
      query, [&o](const std::string& key, const std::string& value) { return apply_parameter(o, key, value); });
  if (!applied) return applied.error();

  if (bolt) {
    std::string bolt_path = path->empty() ? std::string("bolt.db") : *path;
    o.path = bolt_path.ends_with(kLmdbSuffix) ? bolt_path : bolt_path + std::string(kLmdbSuffix);
    o.warnings.push_back("bolt:// is served by the LMDB store at " + o.path + "; history in the Bolt file " +
                         bolt_path + " is not imported");
  } else if (!path->empty()) {
    o.path = std::move(*path);
  }
  return o;
}

}  // namespace mercure
