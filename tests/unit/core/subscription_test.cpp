#include "core/subscription.hpp"
#include "core/subscription_registry.hpp"

#include <gtest/gtest.h>

#include <memory>

namespace mercure {
namespace {

Update subscription_event(std::string id, Subscription s) {
  Update u;
  u.id = std::move(id);
  u.topics.push_back(subscription_id(s.topic, s.subscriber));
  u.subscription = std::make_shared<const Subscription>(std::move(s));
  return u;
}

TEST(Subscription, IdPercentEncodesEveryReservedCharacterOfBothVariables) {
  EXPECT_EQ(subscription_id("https://example.com/{selector}", "urn:uuid:bb3de268"),
            "/.well-known/mercure/subscriptions/https%3A%2F%2Fexample.com%2F%7Bselector%7D/urn%3Auuid%3Abb3de268");
  EXPECT_EQ(subscription_id("a b+c?d=e&f#g*!'()", "x/y"),
            "/.well-known/mercure/subscriptions/a%20b%2Bc%3Fd%3De%26f%23g%2A%21%27%28%29/x%2Fy");
  EXPECT_EQ(subscription_id("é~-._", "s"), "/.well-known/mercure/subscriptions/%C3%A9~-._/s");
}

TEST(Subscription, JsonHasTheProtocolMembersInOrder) {
  Subscription s{"https://example.com/{x}", "urn:uuid:1", std::string(R"({"foo":"bar"})"), true};
  EXPECT_EQ(subscription_json(s, true),
            R"({"@context":"https://mercure.rocks/","id":"/.well-known/mercure/subscriptions/)"
            R"(https%3A%2F%2Fexample.com%2F%7Bx%7D/urn%3Auuid%3A1","type":"Subscription",)"
            R"("topic":"https://example.com/{x}","subscriber":"urn:uuid:1","active":true,"payload":{"foo":"bar"}})");
}

TEST(Subscription, JsonOmitsContextAndPayloadWhenAskedAndAddsLastEventId) {
  Subscription s{"t\"q", "s", std::nullopt, false};
  const std::string last = "urn:uuid:9";
  EXPECT_EQ(subscription_json(s, false, &last),
            R"({"id":"/.well-known/mercure/subscriptions/t%22q/s","type":"Subscription","topic":"t\"q",)"
            R"("subscriber":"s","active":false,"lastEventID":"urn:uuid:9"})");
}

TEST(Subscription, CollectionJsonWrapsItsMembers) {
  std::vector<SubscriptionPtr> subs{
      std::make_shared<const ListedSubscription>(Subscription{"a", "s1", std::nullopt, true}),
      std::make_shared<const ListedSubscription>(Subscription{"b", "s2", std::string("[1]"), true})};
  EXPECT_EQ(subscriptions_json("/.well-known/mercure/subscriptions", "earliest", subs),
            R"({"@context":"https://mercure.rocks/","id":"/.well-known/mercure/subscriptions",)"
            R"("type":"Subscriptions","lastEventID":"earliest","subscriptions":[)"
            R"({"id":"/.well-known/mercure/subscriptions/a/s1","type":"Subscription","topic":"a",)"
            R"("subscriber":"s1","active":true},)"
            R"({"id":"/.well-known/mercure/subscriptions/b/s2","type":"Subscription","topic":"b",)"
            R"("subscriber":"s2","active":true,"payload":[1]}]})");
  EXPECT_EQ(subscriptions_json("/x", "e", {}),
            R"({"@context":"https://mercure.rocks/","id":"/x","type":"Subscriptions","lastEventID":"e",)"
            R"("subscriptions":[]})");
}

TEST(SubscriptionRegistry, StartsEmptyAtEarliest) {
  SubscriptionRegistry r;
  EXPECT_EQ(r.last_event_id(), "earliest");
  EXPECT_TRUE(r.list().subscriptions.empty());
  r.set_last_event_id("stored-1");
  EXPECT_EQ(r.list().last_event_id, "stored-1");
}

TEST(SubscriptionRegistry, FollowsConnectAndDisconnectEventsAndEveryId) {
  SubscriptionRegistry r;
  r.observe(subscription_event("e1", {"b", "s1", std::nullopt, true}));
  r.observe(subscription_event("e2", {"a", "s1", std::nullopt, true}));
  r.observe(subscription_event("e3", {"a", "s2", std::string("{}"), true}));
  Update plain;
  plain.id = "e4";
  plain.topics.push_back("a");
  r.observe(plain);

  auto all = r.list();
  EXPECT_EQ(all.last_event_id, "e4");
  ASSERT_EQ(all.subscriptions.size(), 3U);
  EXPECT_EQ(all.subscriptions[0]->value.topic, "a");  // ordered by (topic, subscriber)
  EXPECT_EQ(all.subscriptions[0]->value.subscriber, "s1");
  EXPECT_EQ(all.subscriptions[1]->value.subscriber, "s2");
  EXPECT_EQ(all.subscriptions[2]->value.topic, "b");

  auto only_a = r.list(std::string_view("a"));
  ASSERT_EQ(only_a.subscriptions.size(), 2U);
  EXPECT_TRUE(r.list(std::string_view("zzz")).subscriptions.empty());

  auto [last, found] = r.find("a", "s2");
  EXPECT_EQ(last, "e4");
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->payload_json, "{}");
  EXPECT_FALSE(r.find("b", "s2").second.has_value());

  r.observe(subscription_event("e5", {"a", "s2", std::nullopt, false}));
  EXPECT_FALSE(r.find("a", "s2").second.has_value());
  EXPECT_EQ(r.size(), 2U);
  EXPECT_EQ(r.last_event_id(), "e5");
}

TEST(SubscriptionRegistry, SeededWithAnotherHubsActiveSubscriptionsThenFollowsTheirEvents) {
  SubscriptionRegistry r;
  r.set_last_event_id("stored-7");
  r.seed(
      {{"a", "s1", std::string("{\"u\":1}"), true}, {"a", "s2", std::nullopt, false}, {"b", "s3", std::nullopt, true}});
  EXPECT_EQ(r.size(), 2U) << "an inactive one is not listed";
  EXPECT_EQ(r.last_event_id(), "stored-7") << "seeding moves no id";
  ASSERT_TRUE(r.find("a", "s1").second.has_value());
  EXPECT_EQ(r.find("a", "s1").second->payload_json, "{\"u\":1}");
  r.observe(subscription_event("e8", {"a", "s1", std::nullopt, false}));
  EXPECT_FALSE(r.find("a", "s1").second.has_value());
  EXPECT_EQ(r.size(), 1U);
  r.reset({{"c", "s4", std::nullopt, true}, {"c", "s5", std::nullopt, false}});
  EXPECT_EQ(r.size(), 1U) << "reset forgets what was listed";
  EXPECT_TRUE(r.find("c", "s4").second.has_value());
  EXPECT_FALSE(r.find("b", "s3").second.has_value());
  // The history started again: the old id names nothing in it, and a client holding the old
  // list's ETag (the id) must not be told its copy is current.
  EXPECT_EQ(r.last_event_id(), "earliest");
  EXPECT_EQ(r.list().last_event_id, "earliest");
  r.observe(subscription_event("f1", {"c", "s6", std::nullopt, true}));
  EXPECT_EQ(r.last_event_id(), "f1");
}

}  // namespace
}  // namespace mercure
