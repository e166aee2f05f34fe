#include "core/hub.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

namespace mercure {
namespace {

class RecordingTransport final : public Transport {
 public:
  void add_listener(Listener) override {}
  void publish(NewUpdatePtr update, Done done) override {
    published.push_back(std::move(update));
    done(fail ? Result<void>(Error{Errc::unavailable, "store is full"}) : Result<void>{});
  }
  bool writable() const override { return true; }
  void close() override {}

  std::vector<UpdatePtr> published;
  bool fail = false;
};

struct HubFixture : ::testing::Test {
  RecordingTransport transport;
  SelectorCache cache{100};
  UuidGenerator uuids;
  Hub hub{transport, cache, uuids};

  Result<std::string> publish(PublishForm form, std::optional<std::vector<std::string>> grants) {
    Claims claims;
    claims.publish = std::move(grants);
    std::optional<Result<void>> acknowledged;
    auto id = hub.publish(std::move(form), claims, [&](Result<void> r) { acknowledged = std::move(r); });
    if (!id) {
      EXPECT_FALSE(acknowledged.has_value()) << "done must not be called for an update the hub refused";
      return id;
    }
    EXPECT_TRUE(acknowledged.has_value()) << "done must be called";
    if (acknowledged && !*acknowledged) return acknowledged->error();
    return id;
  }
};

PublishForm form(std::vector<std::string> topics) {
  PublishForm f;
  f.topics = std::move(topics);
  return f;
}

TEST_F(HubFixture, AssignsAUuidV7UrnWhenNoIdIsGiven) {
  auto r = publish(form({"/a"}), std::vector<std::string>{"*"});
  ASSERT_TRUE(r.has_value()) << r.error().reason;
  EXPECT_TRUE(r->starts_with("urn:uuid:"));
  EXPECT_EQ(r->size(), 9U + 36U);
  EXPECT_EQ((*r)[9 + 14], '7');
  ASSERT_EQ(transport.published.size(), 1U);
  EXPECT_EQ(transport.published[0]->id, *r);
}

TEST_F(HubFixture, KeepsAGivenIdAndBuildsTheFrameOnce) {
  auto f = form({"/a"});
  f.id = "my-id";
  f.data = "hello";
  f.type = "greeting";
  f.retry = "1500";
  auto r = publish(std::move(f), std::vector<std::string>{"/a"});
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(*r, "my-id");
  ASSERT_EQ(transport.published.size(), 1U);
  EXPECT_EQ(transport.published[0]->frame, "event: greeting\nretry: 1500\nid: my-id\ndata: hello\n\n");
}

TEST_F(HubFixture, RejectsATokenWithoutPublishClaim) {
  auto r = publish(form({"/a"}), std::nullopt);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, Errc::forbidden);
  EXPECT_TRUE(transport.published.empty());
}

TEST_F(HubFixture, RejectsWhenAnyTopicIsNotGrantedAndDispatchesNothing) {
  auto r = publish(form({"/books/1", "/secret"}), std::vector<std::string>{"/books/{id}"});
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, Errc::forbidden);
  EXPECT_NE(r.error().reason.find("/secret"), std::string::npos);
  EXPECT_TRUE(transport.published.empty());
}

TEST_F(HubFixture, RejectsReservedTopicsEvenWithWildcardGrant) {
  for (const char* topic : {"/.well-known/mercure", "/.well-known/mercure/subscriptions/x",
                            "https://example.com/.well-known/mercure/subscriptions"}) {
    auto r = publish(form({topic}), std::vector<std::string>{"*"});
    ASSERT_FALSE(r.has_value()) << topic;
    EXPECT_EQ(r.error().code, Errc::forbidden) << topic;
  }
  EXPECT_TRUE(transport.published.empty());
  EXPECT_FALSE(is_reserved_topic("/.well-known/mercure-other"));
  EXPECT_FALSE(is_reserved_topic("https://example.com/books/1"));
}

TEST_F(HubFixture, ReportsTransportFailure) {
  transport.fail = true;
  auto r = publish(form({"/a"}), std::vector<std::string>{"*"});
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, Errc::unavailable);
}

TEST_F(HubFixture, GeneratedIdsAreUniqueAndIncreasing) {
  std::string previous;
  for (int i = 0; i < 1000; ++i) {
    auto r = publish(form({"/a"}), std::vector<std::string>{"*"});
    ASSERT_TRUE(r.has_value());
    EXPECT_GT(*r, previous);
    previous = *r;
  }
}

}  // namespace
}  // namespace mercure
