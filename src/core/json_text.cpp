#include "core/json_text.hpp"

#include <boost/json/serialize.hpp>

#include <charconv>
#include <cmath>
#include <string_view>

namespace mercure {

namespace {

void append_double(std::string& out, double d) {
  char buf[64];
  const double magnitude = std::fabs(d);
  const bool plain = magnitude == 0 || (magnitude >= 1e-6 && magnitude < 1e21);
  const auto res =
      std::to_chars(buf, buf + sizeof buf, d, plain ? std::chars_format::fixed : std::chars_format::scientific);
  std::string_view text(buf, static_cast<std::size_t>(res.ptr - buf));
  if (plain) {
    out += text;
    return;
  }
  // Go writes e-7, not e-07.
  const auto e = text.find('e');
  out += text.substr(0, e + 2);  // mantissa, 'e', sign
  std::string_view exponent = text.substr(e + 2);
  while (exponent.size() > 1 && exponent.front() == '0') exponent.remove_prefix(1);
  out += exponent;
}

void append(std::string& out, const boost::json::value& v) {
  switch (v.kind()) {
    case boost::json::kind::double_:
      append_double(out, v.get_double());
      return;
    case boost::json::kind::array: {
      out += '[';
      bool first = true;
      for (const auto& item : v.get_array()) {
        if (!first) out += ',';
        first = false;
        append(out, item);
      }
      out += ']';
      return;
    }
    case boost::json::kind::object: {
      out += '{';
      bool first = true;
      for (const auto& member : v.get_object()) {
        if (!first) out += ',';
        first = false;
        out += boost::json::serialize(boost::json::string(member.key()));
        out += ':';
        append(out, member.value());
      }
      out += '}';
      return;
    }
    default:  // null, bool, integers, strings
      out += boost::json::serialize(v);
      return;
  }
}

}  // namespace

std::string serialize_json(const boost::json::value& value) {
  std::string out;
  append(out, value);
  return out;
}

}  // namespace mercure
