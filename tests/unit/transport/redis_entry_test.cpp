#include "transport/redis_entry.hpp"

#include "core/sse_frame.hpp"
#include "transport/event_record.hpp"

#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

#include <deque>
#include <string>
#include <vector>

namespace mercure {
namespace {

// Builds hiredis replies by hand (what XRANGE returns), owning their memory.
class Replies {
 public:
  redisReply* string(std::string_view s) {
    auto& text = texts_.emplace_back(s);
    auto& r = nodes_.emplace_back();
    r.type = REDIS_REPLY_STRING;
    r.str = text.data();
    r.len = text.size();
    return &r;
  }
  redisReply* array(std::vector<redisReply*> elements) {
    auto& children = arrays_.emplace_back(std::move(elements));
    auto& r = nodes_.emplace_back();
    r.type = REDIS_REPLY_ARRAY;
    r.elements = children.size();
    r.element = children.data();
    return &r;
  }
  // [entry id, [name, value, ...]]
  redisReply* entry(std::string_view entry_id, const std::vector<std::string>& fields) {
    std::vector<redisReply*> values;
    for (const auto& f : fields) values.push_back(string(f));
    return array({string(entry_id), array(std::move(values))});
  }

 private:
  std::deque<redisReply> nodes_;
  std::deque<std::string> texts_;
  std::deque<std::vector<redisReply*>> arrays_;
};

Update sample_update() {
  Update u;
  u.id = "urn:uuid:42";
  u.topics = {"https://example.com/books/1", "https://example.com/alt"};
  u.data = "line one\nline two";
  u.type = "note";
  u.is_private = true;
  u.frame = make_sse_frame(u);
  return u;
}

TEST(RedisEntry, SeqFollowsTheEntryIdOrder) {
  const std::vector<std::string> ids = {
      "0-1", "0-2", "1-0", "1700000000000-0", "1700000000000-1", "1700000000001-0", "17592186044415-1048575"};
  std::uint64_t previous = 0;
  for (const auto& id : ids) {
    auto seq = seq_from_entry_id(id);
    ASSERT_TRUE(seq) << id;
    EXPECT_GT(*seq, previous) << id;
    EXPECT_EQ(entry_id_from_seq(*seq), id);
    previous = *seq;
  }
}

TEST(RedisEntry, RefusesIdsOutsideTheSeqRange) {
  for (const char* id : {"", "5", "-1", "1-", "a-b", "17592186044416-0", "1-1048576", "1-2-3"}) {
    EXPECT_FALSE(seq_from_entry_id(id)) << id;
  }
}

TEST(RedisEntry, AnEntryGivesBackTheUpdate) {
  const Update u = sample_update();
  Replies r;
  const redisReply* reply = r.entry("1700000000000-3", {"i", u.id, "r", encode_event_record(u), "o", "abcd:7"});
  auto entry = parse_entry(*reply);
  ASSERT_TRUE(entry) << entry.error().reason;
  EXPECT_EQ(entry->id, u.id);
  EXPECT_EQ(entry->origin, "abcd:7");
  EXPECT_TRUE(entry->subscription.empty());
  auto back = update_from_entry(*entry);
  ASSERT_TRUE(back) << back.error().reason;
  EXPECT_EQ((*back)->id, u.id);
  EXPECT_EQ((*back)->topics, u.topics);
  EXPECT_TRUE((*back)->is_private);
  EXPECT_EQ((*back)->frame, u.frame);
  EXPECT_EQ((*back)->seq, *seq_from_entry_id("1700000000000-3"));
  EXPECT_EQ((*back)->subscription, nullptr);
}

TEST(RedisEntry, SubscriptionEventsCarryTheirSubscription) {
  for (const Subscription& s :
       {Subscription{"https://example.com/{id}", "urn:uuid:1", std::string(R"({"a":1})"), true},
        Subscription{"*", "urn:uuid:2", std::nullopt, false}, Subscription{"", "urn:uuid:3", std::string(), true}}) {
    auto back = decode_subscription(encode_subscription(s));
    ASSERT_TRUE(back) << s.topic;
    EXPECT_EQ(back->topic, s.topic);
    EXPECT_EQ(back->subscriber, s.subscriber);
    EXPECT_EQ(back->payload_json, s.payload_json);
    EXPECT_EQ(back->active, s.active);
  }
  const Update u = sample_update();
  const Subscription s{"https://example.com/{id}", "urn:uuid:1", std::nullopt, true};
  Replies r;
  auto entry =
      parse_entry(*r.entry("5-0", {"i", u.id, "r", encode_event_record(u), "o", "x:1", "s", encode_subscription(s)}));
  ASSERT_TRUE(entry);
  auto back = update_from_entry(*entry);
  ASSERT_TRUE(back);
  ASSERT_NE((*back)->subscription, nullptr);
  EXPECT_EQ((*back)->subscription->subscriber, "urn:uuid:1");
}

TEST(RedisEntry, MalformedEntriesAreErrorsNotCrashes) {
  const Update u = sample_update();
  const std::string record = encode_event_record(u);
  Replies r;
  EXPECT_FALSE(parse_entry(*r.string("1-0")));
  EXPECT_FALSE(parse_entry(*r.array({r.string("1-0")})));
  EXPECT_FALSE(parse_entry(*r.entry("1-0", {"i", u.id, "r"})));           // odd field count
  EXPECT_FALSE(parse_entry(*r.entry("1-0", {"r", record, "o", "x:1"})));  // no id
  EXPECT_FALSE(parse_entry(*r.entry("1-0", {"i", u.id})));                // no record
  EXPECT_FALSE(parse_entry(*r.entry("x", {"i", u.id, "r", record})));     // bad entry id
  auto truncated = parse_entry(*r.entry("1-0", {"i", u.id, "r", record.substr(0, record.size() - 1)}));
  ASSERT_TRUE(truncated);
  EXPECT_FALSE(update_from_entry(*truncated));
  auto bad_subscription = parse_entry(*r.entry("1-0", {"i", u.id, "r", record, "s", "1p5:ab"}));
  ASSERT_TRUE(bad_subscription);
  EXPECT_FALSE(update_from_entry(*bad_subscription));
  for (const char* s : {"", "1", "2p0:0:0:", "1p0:0:", "1p0:0:0:x", "1p99:a0:0:", "1-0:0:0:0:"}) {
    EXPECT_FALSE(decode_subscription(s)) << s;
  }
}

}  // namespace
}  // namespace mercure
