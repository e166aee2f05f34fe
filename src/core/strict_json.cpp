#include "core/strict_json.hpp"

#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/parse.hpp>

#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

namespace mercure {

namespace {

// A basic_parser handler that builds nothing and fails at the first repeated key of an object.
// Keys are compared after unescaping, so "a" and "\u0061" collide as they should.
class DuplicateKeyFinder {
 public:
  static constexpr std::size_t max_array_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_object_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_string_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_key_size = static_cast<std::size_t>(-1);

  bool on_document_begin(boost::json::error_code&) { return true; }
  bool on_document_end(boost::json::error_code&) { return true; }
  bool on_array_begin(boost::json::error_code&) { return true; }
  bool on_array_end(std::size_t, boost::json::error_code&) { return true; }
  bool on_object_begin(boost::json::error_code&) {
    open_.emplace_back();
    return true;
  }
  bool on_object_end(std::size_t, boost::json::error_code&) {
    open_.pop_back();
    return true;
  }
  bool on_string_part(boost::json::string_view, std::size_t, boost::json::error_code&) { return true; }
  bool on_string(boost::json::string_view, std::size_t, boost::json::error_code&) { return true; }
  bool on_key_part(boost::json::string_view s, std::size_t, boost::json::error_code&) {
    key_.append(s.data(), s.size());
    return true;
  }
  bool on_key(boost::json::string_view s, std::size_t, boost::json::error_code& ec) {
    key_.append(s.data(), s.size());
    if (!open_.back().insert(key_).second) {
      duplicate_ = std::move(key_);
      ec = boost::json::error::extra_data;  // any error stops the parser; duplicate_ says why
      return false;
    }
    key_.clear();
    return true;
  }
  bool on_number_part(boost::json::string_view, boost::json::error_code&) { return true; }
  bool on_int64(std::int64_t, boost::json::string_view, boost::json::error_code&) { return true; }
  bool on_uint64(std::uint64_t, boost::json::string_view, boost::json::error_code&) { return true; }
  // Boost.JSON turns a number beyond the double range (1e400) into an infinity, which it then
  // serializes as `Infinity`: not JSON. Such a number is refused (RFC 8259 section 6 allows
  // limits on range), so every accepted document serializes back to valid JSON.
  bool on_double(double d, boost::json::string_view, boost::json::error_code& ec) {
    if (std::isfinite(d)) return true;
    out_of_range_ = true;
    ec = boost::json::error::exponent_overflow;
    return false;
  }
  bool on_bool(bool, boost::json::error_code&) { return true; }
  bool on_null(boost::json::error_code&) { return true; }
  bool on_comment_part(boost::json::string_view, boost::json::error_code&) { return true; }
  bool on_comment(boost::json::string_view, boost::json::error_code&) { return true; }

  [[nodiscard]] const std::optional<std::string>& duplicate() const { return duplicate_; }
  [[nodiscard]] bool out_of_range() const { return out_of_range_; }

 private:
  std::vector<std::unordered_set<std::string>> open_;
  std::string key_;
  std::optional<std::string> duplicate_;
  bool out_of_range_ = false;
};

// Keys come from untrusted input: keep the reason one short, printable line.
std::string printable(std::string_view key) {
  constexpr std::size_t kMax = 40;
  std::string out;
  for (const char c : key.substr(0, kMax)) out.push_back(c >= 0x20 && c < 0x7F && c != '"' ? c : '?');
  if (key.size() > kMax) out += "...";
  return out;
}

}  // namespace

Result<boost::json::value> parse_strict_json(std::string_view text, std::string_view what) {
  boost::json::error_code ec;
  boost::json::value value = boost::json::parse(boost::json::string_view(text.data(), text.size()), ec);
  if (ec) return Error{Errc::bad_request, std::string(what) + " is not valid JSON (" + ec.message() + ")"};

  // The text is known to be valid JSON here, so this pass fails only on a duplicate key or a
  // number out of range.
  boost::json::basic_parser<DuplicateKeyFinder> finder{boost::json::parse_options{}};
  finder.write_some(false, text.data(), text.size(), ec);
  if (const auto& dup = finder.handler().duplicate()) {
    return Error{Errc::bad_request, "duplicate key \"" + printable(*dup) + "\" in " + std::string(what)};
  }
  if (finder.handler().out_of_range()) {
    return Error{Errc::bad_request, std::string(what) + " has a number out of range"};
  }
  if (ec) return Error{Errc::bad_request, std::string(what) + " is not valid JSON (" + ec.message() + ")"};
  return value;
}

}  // namespace mercure
