#pragma once
// Compact JSON text of a value, with numbers written as the reference hub (Go's encoding/json)
// writes them: a decimal number in plain notation between 1e-6 and 1e21 (`0.1`, `1`, `1000`,
// `3.14159`, `123456789012345680000`), in exponent notation outside (`1e+21`, `1e-7`), with the
// fewest digits that read back as the same double; integers (no point, no exponent) exactly. Boost.JSON 1.81's
// serialize writes every double with an exponent (`1E-1`, `1E0`, `1E3`), which clients comparing or displaying a
// payload see. Thread-safety: pure function.

#include <boost/json/value.hpp>

#include <string>

namespace mercure {

[[nodiscard]] std::string serialize_json(const boost::json::value& value);

}  // namespace mercure
