#include "core/json_text.hpp"

#include <boost/json/serialize.hpp>

#include <charconv>
#include <cmath>
#include <string_view>

namespace mercure {

namespace {

// Go's strconv 'f' or 'e' format with the shortest digits that read back as `d`: the digits and
// the exponent of the shortest scientific form, laid out in plain notation from 1e-6 to 1e21
// (zeros after the digits, never the double's exact expansion: 1.2345678901234568e20 is
// 123456789012345680000), else as 1e+21 / 1.5e-7.
void append_double(std::string& out, double d) {
  char buf[64];
  const auto res = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
  const std::string_view text(buf, static_cast<std::size_t>(res.ptr - buf));  // -d.ddde+XX
  const auto e = text.find('e');
  std::string_view mantissa = text.substr(0, e);
  int exponent = 0;
  std::from_chars(text.data() + e + (text[e + 1] == '+' ? 2 : 1), text.data() + text.size(), exponent);
  if (mantissa.front() == '-') {
    out += '-';
    mantissa.remove_prefix(1);
  }
  std::string digits;  // the significant digits, without the point
  for (char c : mantissa) {
    if (c != '.') digits += c;
  }
  const double magnitude = std::fabs(d);
  if (magnitude != 0 && (magnitude < 1e-6 || magnitude >= 1e21)) {
    out += digits.front();
    if (digits.size() > 1) (out += '.') += std::string_view(digits).substr(1);
    out += exponent < 0 ? "e-" : "e+";
    out += std::to_string(exponent < 0 ? -exponent : exponent);
    return;
  }
  if (magnitude == 0) {
    out += '0';
  } else if (exponent >= 0) {
    const auto whole = static_cast<std::size_t>(exponent) + 1;
    if (digits.size() <= whole) {
      out += digits;
      out.append(whole - digits.size(), '0');
    } else {
      out += std::string_view(digits).substr(0, whole);
      (out += '.') += std::string_view(digits).substr(whole);
    }
  } else {
    out += "0.";
    out.append(static_cast<std::size_t>(-exponent - 1), '0');
    out += digits;
  }
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
