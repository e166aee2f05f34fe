#include "app/logging.hpp"

#include <gtest/gtest.h>
#include <spdlog/details/log_msg.h>
#include <spdlog/spdlog.h>
#include <boost/json.hpp>

#include <chrono>
#include <regex>
#include <string>

namespace mercure {
namespace {

// 2026-11-22T10:00:00.123Z
const spdlog::log_clock::time_point kTime{std::chrono::milliseconds{1'795'341'600'123}};

std::string format(const std::string& log_format, std::string_view text,
                   spdlog::level::level_enum level = spdlog::level::info) {
  const spdlog::details::log_msg msg(kTime, spdlog::source_loc{}, "mercure", level,
                                     spdlog::string_view_t(text.data(), text.size()));
  spdlog::memory_buf_t buf;
  make_log_formatter(log_format)->format(msg, buf);
  return std::string(buf.data(), buf.size());
}

TEST(Logging, TextLinesAreUtcTimeLevelAndMessage) {
  EXPECT_EQ(format("text", "listening on http://127.0.0.1:3000"),
            "2026-11-22T10:00:00.123Z INFO listening on http://127.0.0.1:3000\n");
  EXPECT_EQ(format("text", "x", spdlog::level::warn), "2026-11-22T10:00:00.123Z WARN x\n");
  EXPECT_EQ(format("text", "x", spdlog::level::err), "2026-11-22T10:00:00.123Z ERROR x\n");
  EXPECT_EQ(format("text", "x", spdlog::level::debug), "2026-11-22T10:00:00.123Z DEBUG x\n");
  EXPECT_EQ(format("anything else", "x"), "2026-11-22T10:00:00.123Z INFO x\n");
}

TEST(Logging, TextRecordsStayOnOneLine) {
  EXPECT_EQ(format("text", "a\nFAKE 2026 INFO forged\r\tb\x01 caf\xC3\xA9"),
            "2026-11-22T10:00:00.123Z INFO a\\nFAKE 2026 INFO forged\\r\\tb\\x01 caf\xC3\xA9\n");
}

TEST(Logging, JsonLinesCarryTimeLevelAndMessage) {
  EXPECT_EQ(format("json", "listening"), R"({"time":"2026-11-22T10:00:00.123Z","level":"info","msg":"listening"})"
                                         "\n");
  EXPECT_EQ(format("json", "x", spdlog::level::warn), R"({"time":"2026-11-22T10:00:00.123Z","level":"warn","msg":"x"})"
                                                      "\n");
  EXPECT_EQ(format("json", "x", spdlog::level::err), R"({"time":"2026-11-22T10:00:00.123Z","level":"error","msg":"x"})"
                                                     "\n");
  EXPECT_EQ(format("json", "x", spdlog::level::debug),
            R"({"time":"2026-11-22T10:00:00.123Z","level":"debug","msg":"x"})"
            "\n");
}

TEST(Logging, JsonEscapesQuotesBackslashesAndControlCharacters) {
  EXPECT_EQ(json_escape(R"(say "hi" \o/)"), R"(say \"hi\" \\o/)");
  EXPECT_EQ(json_escape("a\nb\rc\td\be\ff"), R"(a\nb\rc\td\be\ff)");
  EXPECT_EQ(json_escape(std::string("\x00\x01\x1f\x7f", 4)), R"(\u0000\u0001\u001f)"
                                                             "\x7f");
  EXPECT_EQ(json_escape("</script>"), "</script>");
}

TEST(Logging, JsonKeepsValidUtf8AndReplacesInvalidBytes) {
  EXPECT_EQ(json_escape("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"), "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80");
  EXPECT_EQ(json_escape("\xFF"), R"(\ufffd)");
  EXPECT_EQ(json_escape("a\xC3"), R"(a\ufffd)");                              // truncated sequence
  EXPECT_EQ(json_escape("\xC0\xAF"), R"(\ufffd\ufffd)");                      // overlong '/'
  EXPECT_EQ(json_escape("\xED\xA0\x80"), R"(\ufffd\ufffd\ufffd)");            // UTF-16 surrogate
  EXPECT_EQ(json_escape("\xF4\x90\x80\x80"), R"(\ufffd\ufffd\ufffd\ufffd)");  // above U+10FFFF
}

TEST(Logging, EveryJsonLineParsesBackToTheMessage) {
  const std::string message =
      "quote\" backslash\\ newline\n tab\t bell\x07 nul" + std::string(1, '\0') + " caf\xC3\xA9 \xF0\x9F\x98\x80";
  const std::string line = format("json", message);
  ASSERT_EQ(line.back(), '\n');
  ASSERT_EQ(line.find('\n'), line.size() - 1);
  const boost::json::value v = boost::json::parse(line);
  EXPECT_EQ(v.at("msg").as_string(), message);
  EXPECT_EQ(v.at("level").as_string(), "info");
  EXPECT_EQ(v.at("time").as_string(), "2026-11-22T10:00:00.123Z");
}

TEST(Logging, SetupInstallsTheDefaultLoggerAndCanBeRepeated) {
  setup_logging("json", false);
  EXPECT_EQ(spdlog::default_logger()->level(), spdlog::level::info);
  setup_logging("text", true);
  EXPECT_EQ(spdlog::default_logger()->level(), spdlog::level::debug);
  EXPECT_EQ(spdlog::default_logger()->name(), "mercure");
  setup_logging("text", false);
  EXPECT_EQ(spdlog::default_logger()->level(), spdlog::level::info);
}

TEST(Logging, TimesHaveMillisecondsAndAZ) {
  const std::string line = format("text", "x");
  EXPECT_TRUE(std::regex_match(line, std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z INFO x\n)"))) << line;
}

}  // namespace
}  // namespace mercure
