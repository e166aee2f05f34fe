#include "core/subscriber_index.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

namespace mercure {
namespace {

std::vector<SelectorPtr> sel(std::initializer_list<const char*> texts) {
  std::vector<SelectorPtr> out;
  for (const char* t : texts) out.push_back(TopicSelector::compile(t));
  return out;
}

UpdatePtr update(std::vector<std::string> topics, bool is_private = false, std::string id = "x") {
  auto u = std::make_shared<Update>();
  u->id = std::move(id);
  u->topics = std::move(topics);
  u->is_private = is_private;
  u->frame = "id: " + u->id + "\ndata: \n\n";
  return u;
}

std::size_t pending(Subscriber& s) {
  std::vector<UpdatePtr> out;
  s.take_pending(out);
  return out.size();
}

TEST(SubscriberIndex, DeliversExactTopicOnlyToItsSubscribers) {
  SubscriberIndex index;
  Subscriber a(sel({"https://example.com/a"}), std::nullopt, {});
  Subscriber b(sel({"https://example.com/b"}), std::nullopt, {});
  index.add(&a);
  index.add(&b);
  EXPECT_EQ(index.dispatch(update({"https://example.com/a"})), 1U);
  EXPECT_EQ(pending(a), 1U);
  EXPECT_EQ(pending(b), 0U);
}

TEST(SubscriberIndex, DeliversOnceWhenSeveralTopicsAndSelectorsMatch) {
  SubscriberIndex index;
  Subscriber s(sel({"/a", "/b", "/{x}", "*"}), std::nullopt, {});
  index.add(&s);
  EXPECT_EQ(index.dispatch(update({"/a", "/b", "/c"})), 1U);
  EXPECT_EQ(pending(s), 1U);
}

TEST(SubscriberIndex, MatchesAlternateTopics) {
  SubscriberIndex index;
  Subscriber s(sel({"/alternate"}), std::nullopt, {});
  index.add(&s);
  index.dispatch(update({"/canonical", "/alternate"}));
  EXPECT_EQ(pending(s), 1U);
}

TEST(SubscriberIndex, MatchesTemplatesAndWildcard) {
  SubscriberIndex index;
  Subscriber templ(sel({"https://example.com/books/{id}"}), std::nullopt, {});
  Subscriber any(sel({"*"}), std::nullopt, {});
  index.add(&templ);
  index.add(&any);
  index.dispatch(update({"https://example.com/books/1"}));
  index.dispatch(update({"https://example.com/authors/1"}));
  EXPECT_EQ(pending(templ), 1U);
  EXPECT_EQ(pending(any), 2U);
}

TEST(SubscriberIndex, PrivateUpdatesNeedAMatchingSubscribeClaim) {
  SubscriberIndex index;
  Subscriber anonymous(sel({"/p"}), std::nullopt, {});
  Subscriber other_claim(sel({"/p"}), sel({"/q"}), {});
  Subscriber granted(sel({"/p"}), sel({"/{x}"}), {});
  Subscriber granted_on_alternate(sel({"/p"}), sel({"/alt"}), {});
  for (auto* s : {&anonymous, &other_claim, &granted, &granted_on_alternate}) index.add(s);
  EXPECT_EQ(index.dispatch(update({"/p", "/alt"}, true)), 2U);
  EXPECT_EQ(pending(anonymous), 0U);
  EXPECT_EQ(pending(other_claim), 0U);
  EXPECT_EQ(pending(granted), 1U);
  EXPECT_EQ(pending(granted_on_alternate), 1U);
}

TEST(SubscriberIndex, RemovedSubscribersReceiveNothing) {
  SubscriberIndex index;
  Subscriber a(sel({"/a", "*"}), std::nullopt, {});
  Subscriber b(sel({"/a"}), std::nullopt, {});
  index.add(&a);
  index.add(&b);
  index.remove(&a);
  EXPECT_EQ(index.size(), 1U);
  index.dispatch(update({"/a"}));
  EXPECT_EQ(pending(a), 0U);
  EXPECT_EQ(pending(b), 1U);
}

TEST(SubscriberIndex, KeepsPublicationOrder) {
  SubscriberIndex index;
  Subscriber s(sel({"/a", "/{x}"}), std::nullopt, {});
  index.add(&s);
  for (int i = 0; i < 100; ++i) index.dispatch(update({"/a"}, false, std::to_string(i)));
  std::vector<UpdatePtr> out;
  s.take_pending(out);
  ASSERT_EQ(out.size(), 100U);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(out[i]->id, std::to_string(i));
}

TEST(Subscriber, OverflowingTheOutboxMarksItAndDropsPending) {
  Subscriber s(sel({"/a"}), std::nullopt, OutboxLimits{3, 1 << 20});
  int wakes = 0;
  s.set_wake([&] { ++wakes; });
  for (int i = 0; i < 3; ++i) s.push(update({"/a"}));
  EXPECT_FALSE(s.overflowed());
  s.push(update({"/a"}));
  EXPECT_TRUE(s.overflowed());
  EXPECT_FALSE(s.has_pending());
  EXPECT_EQ(wakes, 4);
}

TEST(Subscriber, OverflowsOnBytesToo) {
  Subscriber s(sel({"/a"}), std::nullopt, OutboxLimits{1000, 40});
  s.push(update({"/a"}));
  EXPECT_FALSE(s.overflowed());
  s.push(update({"/a"}));
  s.push(update({"/a"}));
  EXPECT_TRUE(s.overflowed());
}

}  // namespace
}  // namespace mercure
