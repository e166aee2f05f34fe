#include "transport/event_record.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace mercure {
namespace {

Update sample_update() {
  Update u;
  u.id = "urn:uuid:0190f7a4-1c2b-7d3e-8f40-123456789abc";
  u.topics = {"https://example.com/books/1", "https://example.com/books/{id}", ""};
  u.is_private = true;
  u.frame = "event: x\nid: " + u.id + "\ndata: hello\n\n";
  return u;
}

TEST(EventRecord, RoundTrip) {
  const Update u = sample_update();
  const std::string record = encode_event_record(u);
  EXPECT_EQ(record.size(), event_record_size(u));
  EXPECT_EQ(static_cast<std::uint8_t>(record[0]), kEventRecordVersion);
  TopicViews topics;
  auto view = decode_event_record(record, topics);
  ASSERT_TRUE(view.has_value()) << view.error().reason;
  EXPECT_EQ(view->id, u.id);
  EXPECT_TRUE(view->is_private);
  EXPECT_EQ(view->frame, u.frame);
  ASSERT_EQ(topics.size(), 3U);
  EXPECT_EQ(topics[0], u.topics[0]);
  EXPECT_EQ(topics[1], u.topics[1]);
  EXPECT_EQ(topics[2], "");
}

TEST(EventRecord, ViewsPointIntoTheRecord) {
  const std::string record = encode_event_record(sample_update());
  TopicViews topics;
  auto view = decode_event_record(record, topics);
  ASSERT_TRUE(view.has_value());
  const char* begin = record.data();
  const char* end = record.data() + record.size();
  EXPECT_TRUE(view->id.data() >= begin && view->id.data() + view->id.size() <= end);
  EXPECT_TRUE(view->frame.data() >= begin && view->frame.data() + view->frame.size() <= end);
  for (auto t : topics) EXPECT_TRUE(t.data() >= begin && t.data() + t.size() <= end);
}

TEST(EventRecord, PublicFlagAndTopicsVectorIsReset) {
  Update u = sample_update();
  u.is_private = false;
  u.topics = {"a"};
  TopicViews topics = {"stale", "stale"};
  const std::string record = encode_event_record(u);  // the views point into it
  auto view = decode_event_record(record, topics);
  ASSERT_TRUE(view.has_value());
  EXPECT_FALSE(view->is_private);
  ASSERT_EQ(topics.size(), 1U);
  EXPECT_EQ(topics[0], "a");
}

TEST(EventRecord, LargeFieldsUseMultiByteLengths) {
  Update u;
  u.id = std::string(300, 'i');
  u.topics.assign(200, std::string(130, 't'));
  u.frame = std::string(1 << 20, 'f');
  const std::string record = encode_event_record(u);
  TopicViews topics;
  auto view = decode_event_record(record, topics);
  ASSERT_TRUE(view.has_value()) << view.error().reason;
  EXPECT_EQ(view->id, u.id);
  EXPECT_EQ(topics.size(), 200U);
  EXPECT_EQ(view->frame.size(), u.frame.size());
}

TEST(EventRecord, EveryTruncationIsMalformed) {
  const std::string record = encode_event_record(sample_update());
  TopicViews topics;
  for (std::size_t n = 0; n < record.size(); ++n) {
    auto view = decode_event_record(std::string_view(record).substr(0, n), topics);
    ASSERT_FALSE(view.has_value()) << "prefix of " << n << " bytes";
    EXPECT_EQ(view.error().code, Errc::internal);
    EXPECT_NE(view.error().reason.find("malformed event record"), std::string::npos);
  }
}

TEST(EventRecord, TrailingBytesAreMalformed) {
  const std::string record = encode_event_record(sample_update()) + "x";
  TopicViews topics;
  EXPECT_FALSE(decode_event_record(record, topics).has_value());
}

TEST(EventRecord, UnknownVersionOrFlagsAreMalformed) {
  std::string record = encode_event_record(sample_update());
  TopicViews topics;
  std::string v = record;
  v[0] = 2;
  EXPECT_FALSE(decode_event_record(v, topics).has_value());
  std::string f = record;
  f[1] = 0x03;
  EXPECT_FALSE(decode_event_record(f, topics).has_value());
}

TEST(EventRecord, LyingLengthsAreMalformed) {
  TopicViews topics;
  // id length 100 with 3 bytes of input
  EXPECT_FALSE(decode_event_record(std::string("\x01\x00\x64"
                                               "abc",
                                               6),
                                   topics)
                   .has_value());
  // topic count far above what is left: rejected before anything is reserved
  EXPECT_FALSE(decode_event_record(std::string("\x01\x00\x01"
                                               "a"
                                               "\xff\xff\xff\xff\x0f",
                                               9),
                                   topics)
                   .has_value());
  // a varint longer than 10 bytes / overflowing 64 bits
  EXPECT_FALSE(decode_event_record(std::string("\x01\x00"
                                               "\xff\xff\xff\xff\xff\xff\xff\xff\xff\x7f",
                                               12),
                                   topics)
                   .has_value());
  EXPECT_FALSE(decode_event_record(std::string("\x01\x00"
                                               "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01",
                                               13),
                                   topics)
                   .has_value());
}

TEST(EventRecord, RandomBytesNeverReadOutOfBounds) {
  // Run under AddressSanitizer: a read past the buffer (a heap copy of exactly n bytes) aborts.
  std::mt19937_64 rng(42);
  TopicViews topics;
  const std::string valid = encode_event_record(sample_update());
  for (int i = 0; i < 20000; ++i) {
    std::string bytes;
    if (i % 2 == 0) {
      bytes.resize(rng() % 64);
      for (auto& c : bytes) c = static_cast<char>(rng());
      if (!bytes.empty()) bytes[0] = 1;
    } else {
      bytes = valid;
      auto& byte = bytes[rng() % bytes.size()];
      byte = static_cast<char>(static_cast<unsigned char>(byte) ^ (1U << (rng() % 8)));
    }
    const std::vector<char> exact(bytes.begin(), bytes.end());
    const std::string_view in(exact.data(), exact.size());
    auto view = decode_event_record(in, topics);
    if (!view) continue;
    auto inside = [&](std::string_view s) {
      return s.data() >= in.data() && s.data() + s.size() <= in.data() + in.size();
    };
    EXPECT_TRUE(inside(view->id));
    EXPECT_TRUE(inside(view->frame));
    for (auto t : topics) EXPECT_TRUE(inside(t));
  }
}

}  // namespace
}  // namespace mercure
