#include "core/sse_frame.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mercure {
namespace {

// A minimal EventSource parser following the WHATWG "event stream interpretation" steps,
// used only to check that frames round-trip through a conforming client.
struct ParsedEvent {
  std::string type;  // "message" when no event field was seen
  std::string data;
  std::string last_event_id;
};

struct ParsedStream {
  std::vector<ParsedEvent> events;
  std::optional<std::uint64_t> retry;
};

ParsedStream parse_event_stream(std::string_view stream) {
  ParsedStream out;
  std::string data;
  std::string type;
  std::string last_event_id;

  auto process_field = [&](std::string_view field, std::string_view value) {
    if (field == "event") {
      type.assign(value);
    } else if (field == "data") {
      data.append(value).push_back('\n');
    } else if (field == "id") {
      if (value.find('\0') == std::string_view::npos) last_event_id.assign(value);
    } else if (field == "retry") {
      if (!value.empty() && value.find_first_not_of("0123456789") == std::string_view::npos) {
        out.retry = std::stoull(std::string(value));
      }
    }
  };
  auto dispatch = [&] {
    if (data.empty()) {
      type.clear();
      return;
    }
    data.pop_back();  // the trailing LF
    out.events.push_back({type.empty() ? "message" : type, data, last_event_id});
    data.clear();
    type.clear();
  };

  std::size_t pos = 0;
  while (pos < stream.size()) {
    const std::size_t end = stream.find_first_of("\r\n", pos);
    if (end == std::string_view::npos) break;  // an incomplete last line is not processed
    const std::string_view line = stream.substr(pos, end - pos);
    pos = end + ((stream[end] == '\r' && end + 1 < stream.size() && stream[end + 1] == '\n') ? 2 : 1);

    if (line.empty()) {
      dispatch();
    } else if (line.front() == ':') {
      continue;
    } else if (const auto colon = line.find(':'); colon != std::string_view::npos) {
      std::string_view value = line.substr(colon + 1);
      if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
      process_field(line.substr(0, colon), value);
    } else {
      process_field(line, {});
    }
  }
  return out;
}

// What a client sees as data: every line break normalized to LF.
std::string normalize_breaks(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\r') {
      out.push_back('\n');
      if (i + 1 < s.size() && s[i + 1] == '\n') ++i;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

Update make_update(std::string data, std::string id = "urn:uuid:1") {
  Update u;
  u.id = std::move(id);
  u.topics = {"https://example.com/books/1"};
  u.data = std::move(data);
  return u;
}

void expect_round_trip(const Update& u) {
  const std::string frame = make_sse_frame(u);
  const ParsedStream parsed = parse_event_stream(frame);
  ASSERT_EQ(parsed.events.size(), 1u) << frame;
  EXPECT_EQ(parsed.events[0].data, normalize_breaks(u.data));
  EXPECT_EQ(parsed.events[0].last_event_id, u.id);
  EXPECT_EQ(parsed.events[0].type, u.type.empty() ? "message" : u.type);
  EXPECT_EQ(parsed.retry, u.retry);
}

TEST(SseFrame, SingleLineHasIdDataAndBlankLine) {
  EXPECT_EQ(make_sse_frame(make_update("hello", "id-1")), "id: id-1\ndata: hello\n\n");
}

TEST(SseFrame, EmptyDataGivesOneEmptyDataLine) {
  const Update u = make_update("");
  EXPECT_EQ(make_sse_frame(u), "id: urn:uuid:1\ndata: \n\n");
  expect_round_trip(u);
}

TEST(SseFrame, LineFeedSplitsLines) {
  const Update u = make_update("a\nb");
  EXPECT_EQ(make_sse_frame(u), "id: urn:uuid:1\ndata: a\ndata: b\n\n");
  expect_round_trip(u);
}

TEST(SseFrame, CarriageReturnAloneSplitsLines) {
  const Update u = make_update("a\rb");
  EXPECT_EQ(make_sse_frame(u), "id: urn:uuid:1\ndata: a\ndata: b\n\n");
  expect_round_trip(u);
}

TEST(SseFrame, CrlfIsOneLineBreak) {
  const Update u = make_update("a\r\nb");
  EXPECT_EQ(make_sse_frame(u), "id: urn:uuid:1\ndata: a\ndata: b\n\n");
  expect_round_trip(u);
}

TEST(SseFrame, LfThenCrIsTwoLineBreaks) {
  const Update u = make_update("a\n\rb");
  EXPECT_EQ(make_sse_frame(u), "id: urn:uuid:1\ndata: a\ndata: \ndata: b\n\n");
  expect_round_trip(u);
}

TEST(SseFrame, MixedBreaksEachEndOneLine) {
  const Update u = make_update("1\r\n2\r3\n4\r\r\n5");
  EXPECT_EQ(make_sse_frame(u), "id: urn:uuid:1\ndata: 1\ndata: 2\ndata: 3\ndata: 4\ndata: \ndata: 5\n\n");
  expect_round_trip(u);
}

TEST(SseFrame, EmptyLinesInTheMiddleAreKept) {
  const Update u = make_update("a\n\nb");
  EXPECT_EQ(make_sse_frame(u), "id: urn:uuid:1\ndata: a\ndata: \ndata: b\n\n");
  expect_round_trip(u);
}

TEST(SseFrame, TrailingNewlineGivesTrailingEmptyDataLine) {
  const Update u = make_update("a\n");
  EXPECT_EQ(make_sse_frame(u), "id: urn:uuid:1\ndata: a\ndata: \n\n");
  expect_round_trip(u);
}

TEST(SseFrame, DataMadeOnlyOfBreaks) {
  const Update u = make_update("\r\n\r\n");
  EXPECT_EQ(make_sse_frame(u), "id: urn:uuid:1\ndata: \ndata: \ndata: \n\n");
  expect_round_trip(u);
}

TEST(SseFrame, LeadingSpacesAndColonsInDataSurvive) {
  const Update u = make_update("  indented\n: not a comment\ndata: x");
  expect_round_trip(u);
}

TEST(SseFrame, EventTypeComesFirst) {
  Update u = make_update("x");
  u.type = "book-updated";
  EXPECT_EQ(make_sse_frame(u), "event: book-updated\nid: urn:uuid:1\ndata: x\n\n");
  expect_round_trip(u);
}

TEST(SseFrame, RetryComesAfterEventAndBeforeId) {
  Update u = make_update("x");
  u.type = "t";
  u.retry = 1500;
  EXPECT_EQ(make_sse_frame(u), "event: t\nretry: 1500\nid: urn:uuid:1\ndata: x\n\n");
  expect_round_trip(u);
}

TEST(SseFrame, RetryZeroAndMaximumAreWritten) {
  Update u = make_update("x");
  u.retry = 0;
  EXPECT_EQ(make_sse_frame(u), "retry: 0\nid: urn:uuid:1\ndata: x\n\n");
  u.retry = UINT64_MAX;
  EXPECT_EQ(make_sse_frame(u), "retry: 18446744073709551615\nid: urn:uuid:1\ndata: x\n\n");
  expect_round_trip(u);
}

TEST(SseFrame, UnicodeBytesPassThroughUnchanged) {
  // U+2028 and U+0085 are not SSE line breaks; only CR and LF are.
  Update u = make_update("héllo wörld 🚀\n日本語\u2028same line\u0085too", "urn:uuid:é");
  u.type = "ünïcode";
  EXPECT_EQ(make_sse_frame(u),
            "event: ünïcode\nid: urn:uuid:é\ndata: héllo wörld 🚀\ndata: 日本語\u2028same line\u0085too\n\n");
  expect_round_trip(u);
}

TEST(SseFrame, OneMebibytePayloadRoundTrips) {
  std::string data;
  data.reserve(1 << 20);
  const std::string_view breaks[] = {"\n", "\r", "\r\n", ""};
  for (std::size_t i = 0; data.size() < (1u << 20); ++i) {
    data.append("{\"chunk\":").append(std::to_string(i)).append("}");
    data.append(breaks[i % 4]);
  }
  data.resize(1u << 20);
  Update u = make_update(std::move(data));
  u.type = "big";
  u.retry = 42;
  expect_round_trip(u);
}

TEST(SseFrame, SizeIsExactlyReservedForLargePayload) {
  const Update u = make_update(std::string(1u << 20, 'x'));
  const std::string frame = make_sse_frame(u);
  EXPECT_EQ(frame.size(), std::string_view("id: urn:uuid:1\ndata: \n\n").size() + (1u << 20));
  // One exact reservation, no geometric growth (which would leave up to 2x slack).
  EXPECT_LT(frame.capacity(), frame.size() + 64);
}

TEST(SseFrame, ConsecutiveFramesParseAsSeparateEvents) {
  Update a = make_update("first", "1");
  Update b = make_update("second\nline", "2");
  b.type = "t";
  const std::string stream =
      std::string(sse_heartbeat()) + make_sse_frame(a) + std::string(sse_heartbeat()) + make_sse_frame(b);
  const ParsedStream parsed = parse_event_stream(stream);
  ASSERT_EQ(parsed.events.size(), 2u);
  EXPECT_EQ(parsed.events[0].data, "first");
  EXPECT_EQ(parsed.events[0].last_event_id, "1");
  EXPECT_EQ(parsed.events[1].data, "second\nline");
  EXPECT_EQ(parsed.events[1].type, "t");
  EXPECT_EQ(parsed.events[1].last_event_id, "2");
}

TEST(SseFrame, HeartbeatIsACommentLine) {
  EXPECT_EQ(sse_heartbeat(), ":\n");
  EXPECT_TRUE(parse_event_stream(sse_heartbeat()).events.empty());
}

}  // namespace
}  // namespace mercure
