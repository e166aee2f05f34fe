#include "core/json_text.hpp"

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>

#include <string>

namespace mercure {
namespace {

std::string round_trip(const char* json) {
  return serialize_json(boost::json::parse(json));
}

TEST(JsonText, NumbersAreWrittenAsTheReferenceHubWritesThem) {
  // Go's encoding/json: plain notation from 1e-6 to 1e21, the shortest text of the double.
  EXPECT_EQ(round_trip(R"({"a":0.1,"e":1.0,"f":3.14159,"b":1e3,"c":-0.0,"d":-2.5})"),
            R"({"a":0.1,"e":1,"f":3.14159,"b":1000,"c":-0,"d":-2.5})");
  EXPECT_EQ(round_trip("[0.000001,1e20,123456789.125,0.30000000000000004]"),
            "[0.000001,100000000000000000000,123456789.125,0.30000000000000004]");
  EXPECT_EQ(round_trip("[1e21,1.5e-7,-2e300,5e-324]"), "[1e+21,1.5e-7,-2e+300,5e-324]");
  // Past 2^53 the digits stop where the double's shortest form does, then zeros, as Go writes.
  EXPECT_EQ(round_trip("[1.2345678901234568e20,1e17,-123.0e10,0.00012]"),
            "[123456789012345680000,100000000000000000,-1230000000000,0.00012]");
  // Integers stay exact (Go would round those past 2^53 through a double).
  EXPECT_EQ(round_trip("[0,-1,9007199254740993,18446744073709551615,-9223372036854775808]"),
            "[0,-1,9007199254740993,18446744073709551615,-9223372036854775808]");
}

TEST(JsonText, StructureAndStringsAreCompactJson) {
  EXPECT_EQ(round_trip(R"( { "k" : [ true , false , null , "a\"b\\c\u00e9\n" , { } , [ ] ] } )"),
            "{\"k\":[true,false,null,\"a\\\"b\\\\c\xc3\xa9\\n\",{},[]]}");
  EXPECT_EQ(round_trip(R"({"\u0001":"\u001f"})"), R"({"\u0001":"\u001f"})");
  // What it writes reads back as the same value.
  const auto value = boost::json::parse(R"({"x":[1.25,{"y":"z"},-1e-9,12]})");
  EXPECT_EQ(boost::json::parse(serialize_json(value)), value);
}

}  // namespace
}  // namespace mercure
