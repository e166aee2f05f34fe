#include "core/subscription_events.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

namespace mercure {
namespace {

// A transport that takes publishes when `open` and answers them when the test says so.
class GatedTransport final : public Transport {
 public:
  void add_listener(Listener) override {}
  void publish(NewUpdatePtr update, Done done) override {
    published.push_back(update);
    answers.push_back(std::move(done));
  }
  bool writable() const override { return open; }
  void close() override {}

  // Answers every publish not answered yet: stored, or refused.
  void answer_all(bool ok) {
    auto pending = std::move(answers);
    answers.clear();
    for (auto& done : pending) done(ok ? Result<void>{} : Result<void>(Error{Errc::unavailable, "redis is down"}));
  }
  void reopen() {
    open = true;
    notify_writable();
  }
  // "<subscriber> <topic> active|inactive" of each published event, in order.
  std::vector<std::string> log() const {
    std::vector<std::string> out;
    for (const auto& u : published) {
      out.push_back(u->subscription->subscriber + " " + u->subscription->topic + " " +
                    (u->subscription->active ? "active" : "inactive"));
    }
    return out;
  }

  bool open = true;
  std::vector<UpdatePtr> published;
  std::vector<Done> answers;
};

Subscription event(const std::string& subscriber, bool active, const std::string& topic = "/a") {
  return Subscription{topic, subscriber, std::nullopt, active};
}

struct SubscriptionEventsTest : ::testing::Test {
  GatedTransport transport;
  UuidGenerator uuids;
  SubscriptionEvents events{transport, uuids};
  SubscriptionEventsTest() {
    transport.set_writable_handler([this] { events.retry(); });
  }
};

TEST_F(SubscriptionEventsTest, PublishedAtOnceWhileTheTransportTakesThem) {
  events.publish(event("s1", true), 7);
  ASSERT_EQ(transport.published.size(), 1U);
  EXPECT_EQ(transport.published[0]->announces, 7U);
  EXPECT_TRUE(transport.published[0]->is_private);
  EXPECT_EQ(transport.published[0]->topics.front(), subscription_id("/a", "s1"));
  transport.answer_all(true);
  EXPECT_EQ(events.kept(), 0U);
}

TEST_F(SubscriptionEventsTest, KeptWhileNotWritableOnlyTheLatestPerSubscriptionThenSentInOrder) {
  transport.open = false;
  events.publish(event("s1", false), 0);  // s1 left during the outage
  events.publish(event("s2", true), 0);   // s2 came and left
  events.publish(event("s2", false), 0);
  events.publish(event("s3", true), 0);  // s3 came
  EXPECT_TRUE(transport.published.empty());
  EXPECT_EQ(events.kept(), 3U);
  transport.reopen();
  EXPECT_EQ(transport.log(), (std::vector<std::string>{"s1 /a inactive", "s2 /a inactive", "s3 /a active"}));
  EXPECT_EQ(events.kept(), 0U);
}

TEST_F(SubscriptionEventsTest, ARefusedEventIsSentAgainUnlessANewerOneOfItsSubscriptionWasSent) {
  events.publish(event("s1", true), 0);
  events.publish(event("s2", true), 0);
  events.publish(event("s2", false), 0);  // supersedes s2's connect, in flight
  transport.open = false;
  transport.answer_all(false);   // Redis went away with all three
  EXPECT_EQ(events.kept(), 2U);  // s1's connect, s2's disconnect (its connect is superseded)
  transport.published.clear();
  transport.reopen();
  EXPECT_EQ(transport.log(), (std::vector<std::string>{"s1 /a active", "s2 /a inactive"}));
  transport.answer_all(true);
  EXPECT_EQ(events.kept(), 0U);
}

TEST_F(SubscriptionEventsTest, NewEventsWaitBehindKeptOnesSoASubscriptionsOrderHolds) {
  transport.open = false;
  events.publish(event("s1", true), 0);
  transport.open = true;  // writable again, before the transport said so
  events.publish(event("s2", true), 0);
  EXPECT_TRUE(transport.published.empty()) << "behind the kept one";
  transport.reopen();
  EXPECT_EQ(transport.log(), (std::vector<std::string>{"s1 /a active", "s2 /a active"}));
}

TEST_F(SubscriptionEventsTest, ARetryThatMeetsAFailingTransportKeepsTheRest) {
  transport.open = false;
  for (int i = 0; i < 3; ++i) events.publish(event("s" + std::to_string(i), true), 0);
  events.retry();  // not writable: nothing sent, nothing lost
  EXPECT_TRUE(transport.published.empty());
  EXPECT_EQ(events.kept(), 3U);
  transport.reopen();
  EXPECT_EQ(transport.published.size(), 3U);
}

TEST_F(SubscriptionEventsTest, AtMostKMaxKeptWait) {
  transport.open = false;
  for (std::size_t i = 0; i < SubscriptionEvents::kMaxKept + 10; ++i) {
    events.publish(event("s" + std::to_string(i), true), 0);
  }
  EXPECT_EQ(events.kept(), SubscriptionEvents::kMaxKept);
}

}  // namespace
}  // namespace mercure
