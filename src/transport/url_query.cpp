#include "transport/url_query.hpp"

#include "core/form_data.hpp"

#include <set>

namespace mercure {

std::optional<bool> parse_bool_parameter(std::string_view v) {
  std::string lower;
  for (char c : v) lower.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c);
  if (lower == "1" || lower == "true") return true;
  if (lower == "0" || lower == "false") return false;
  return std::nullopt;
}

std::string quoted(std::string_view s) {
  return "\"" + std::string(s) + "\"";
}

Result<void> for_each_query_parameter(
    std::string_view query, const std::function<Result<void>(const std::string&, const std::string&)>& apply) {
  const auto bad = [](std::string reason) { return Error{Errc::bad_request, std::move(reason)}; };
  std::set<std::string> seen;
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    if (pair.empty()) continue;  // "a=1&&b=2", trailing '&'
    const std::size_t eq = pair.find('=');
    auto key = percent_decode(pair.substr(0, eq), true);
    if (!key) return bad("query: bad percent-encoding in " + quoted(pair));
    if (eq == std::string_view::npos) return bad("parameter " + quoted(*key) + " needs a value");
    auto value = percent_decode(pair.substr(eq + 1), true);
    if (!value) return bad("parameter " + quoted(*key) + ": bad percent-encoding");
    if (value->empty()) return bad("parameter " + quoted(*key) + " needs a value");
    if (!seen.insert(*key).second) return bad("parameter " + quoted(*key) + " is given more than once");
    auto applied = apply(*key, *value);
    if (!applied) return applied.error();
  }
  return {};
}

}  // namespace mercure
