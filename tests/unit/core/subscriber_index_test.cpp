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

TEST(SubscriberIndex, AConnectEventIsNotDeliveredToTheSubscriberItAnnounces) {
  SubscriberIndex index;
  Subscriber announced(sel({"*"}), sel({"*"}), {});
  Subscriber watcher(sel({"*"}), sel({"*"}), {});
  announced.set_announcement_tag(7);
  watcher.set_announcement_tag(8);
  index.add(&announced);
  index.add(&watcher);
  auto connect = std::const_pointer_cast<Update>(update({"/.well-known/mercure/subscriptions/a/b"}, true));
  connect->announces = 7;
  EXPECT_EQ(index.dispatch(connect), 1U);
  EXPECT_EQ(pending(announced), 0U);
  EXPECT_EQ(pending(watcher), 1U);
  EXPECT_EQ(index.dispatch(update({"/p"}, true)), 2U) << "other private updates reach both";
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

namespace mercure {
namespace {

// Removal moves the last subscriber of each vector into the freed slot: after any sequence
// of adds and removes, exactly the remaining subscribers receive, each once.
TEST(SubscriberIndex, RandomAddsAndRemovesKeepTheIndexConsistent) {
  SubscriberIndex index;
  std::vector<std::unique_ptr<Subscriber>> subs;
  for (int i = 0; i < 200; ++i) {
    std::vector<SelectorPtr> s{TopicSelector::compile("/t" + std::to_string(i % 7)),
                               TopicSelector::compile("/t" + std::to_string(i % 7)),  // duplicate
                               TopicSelector::compile("/all")};
    if (i % 5 == 0) s.push_back(TopicSelector::compile("/p/{x}"));
    subs.push_back(std::make_unique<Subscriber>(std::move(s), std::nullopt, OutboxLimits{}));
    index.add(subs.back().get());
  }
  std::vector<bool> live(subs.size(), true);
  for (std::size_t i = 0; i < subs.size(); i += 3) {
    index.remove(subs[i].get());
    live[i] = false;
  }
  auto u = std::make_shared<Update>();
  u->id = "1";
  u->topics = {"/all", "/t3", "/p/1"};
  u->frame = "id: 1\ndata: \n\n";
  std::size_t expected = 0;
  for (bool l : live) expected += l ? 1 : 0;
  EXPECT_EQ(index.size(), expected);
  EXPECT_EQ(index.dispatch(u), expected);
  for (std::size_t i = 0; i < subs.size(); ++i) {
    std::vector<UpdatePtr> out;
    subs[i]->take_pending(out);
    EXPECT_EQ(out.size(), live[i] ? 1U : 0U) << i;
  }
  for (std::size_t i = 0; i < subs.size(); ++i) {
    if (live[i]) index.remove(subs[i].get());
  }
  EXPECT_EQ(index.size(), 0U);
  EXPECT_EQ(index.dispatch(u), 0U);
}

// A template thousands of subscribers share is one group: each one is delivered once, removal
// of all but one keeps it, and the last one's removal drops it.
TEST(SubscriberIndex, SubscribersSharingATemplateFormOneGroup) {
  SubscriberIndex index;
  std::vector<std::unique_ptr<Subscriber>> subs;
  for (int i = 0; i < 50; ++i) {
    // Compiled apart: the same text from different selector objects is still one group.
    std::vector<SelectorPtr> s{TopicSelector::compile("https://example.com/books/{id}"),
                               TopicSelector::compile("/own/" + std::to_string(i))};
    subs.push_back(std::make_unique<Subscriber>(std::move(s), std::nullopt, OutboxLimits{}));
    index.add(subs.back().get());
  }
  EXPECT_EQ(index.pattern_groups(), 1U);
  EXPECT_EQ(index.dispatch(update({"https://example.com/books/1"})), 50U);
  EXPECT_EQ(index.dispatch(update({"https://example.com/authors/1"})), 0U);
  EXPECT_EQ(index.dispatch(update({"/own/7", "https://example.com/books/2"})), 50U) << "each subscriber once";
  for (int i = 0; i < 49; ++i) index.remove(subs[i].get());
  EXPECT_EQ(index.pattern_groups(), 1U);
  EXPECT_EQ(index.dispatch(update({"https://example.com/books/3"})), 1U);
  index.remove(subs[49].get());
  EXPECT_EQ(index.pattern_groups(), 0U);
  EXPECT_EQ(index.dispatch(update({"https://example.com/books/4"})), 0U);
}

// Templates are found by the literal text before their first expression: an empty one, one as
// long as the topic, one longer than it, and a template's own text as the topic.
TEST(SubscriberIndex, FindsTemplatesWhateverTheirLiteralPrefix) {
  SubscriberIndex index;
  Subscriber anything(sel({"{+uri}"}), std::nullopt, {});
  Subscriber query(sel({"/a{?x}"}), std::nullopt, {});
  Subscriber longer(sel({"/a/very/long/prefix/{x}"}), std::nullopt, {});
  Subscriber path(sel({"/a/{x}"}), std::nullopt, {});
  for (auto* s : {&anything, &query, &longer, &path}) index.add(s);
  EXPECT_EQ(index.dispatch(update({"/a"})), 2U);  // {+uri} and /a{?x} (x undefined)
  EXPECT_EQ(pending(anything), 1U);
  EXPECT_EQ(pending(query), 1U);
  EXPECT_EQ(index.dispatch(update({"/a/b"})), 2U);
  EXPECT_EQ(pending(anything), 1U);
  EXPECT_EQ(pending(path), 1U);
  EXPECT_EQ(index.dispatch(update({"/a/{x}"})), 1U) << "a template matches its own text ({+uri} takes no braces)";
  EXPECT_EQ(pending(path), 1U);
  EXPECT_EQ(pending(longer), 0U);
  EXPECT_EQ(pending(query), 0U);
}

// Templates that differ only after their first expression (one per user, say) are found by
// their suffix: each update reaches exactly its template's subscribers.
TEST(SubscriberIndex, TemplatesSharingAPrefixAreFoundByTheirSuffix) {
  SubscriberIndex index;
  std::vector<std::unique_ptr<Subscriber>> subs;
  for (int i = 0; i < 100; ++i) {
    std::vector<SelectorPtr> s{TopicSelector::compile("https://example.com/{type}/" + std::to_string(i))};
    subs.push_back(std::make_unique<Subscriber>(std::move(s), std::nullopt, OutboxLimits{}));
    index.add(subs.back().get());
  }
  EXPECT_EQ(index.dispatch(update({"https://example.com/books/42"})), 1U);
  EXPECT_EQ(index.dispatch(update({"https://example.com/books/4"})), 1U);
  EXPECT_EQ(index.dispatch(update({"https://example.com/books/142"})), 0U);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(pending(*subs[i]), i == 42 || i == 4 ? 1U : 0U) << i;
  for (int i = 0; i < 100; i += 2) index.remove(subs[i].get());
  EXPECT_EQ(index.dispatch(update({"https://example.com/authors/43"})), 1U);
  EXPECT_EQ(index.dispatch(update({"https://example.com/authors/44"})), 0U);
  EXPECT_EQ(pending(*subs[43]), 1U);
  for (int i = 1; i < 100; i += 2) index.remove(subs[i].get());
  EXPECT_EQ(index.pattern_groups(), 0U);
}

// The index against the definition: after random adds and removes of subscribers holding
// exact topics, templates with prefixes of many lengths, "*" and duplicates, every update
// reaches exactly the subscribers whose Subscriber::matches() says so, each once.
TEST(SubscriberIndex, DeliversWhatSubscriberMatchesSaysAfterRandomChanges) {
  const std::vector<std::string> pool{"/a",     "/a/b",     "/a/{x}",   "/a{?x}",       "/a/b/{x}",   "/{x}/b",
                                      "{+u}",   "*",        "/c/{x}/d", "/c",           "/c/1/d",     "/a/b/c",
                                      "/{x}",   "/a/{x}/c", "/a/b/",    "{/p*}",        "/c/{x:2}/d", "/a/b/{x}{?y}",
                                      "/{x}/d", "{+u}/d",   "/a/{x}/d", "/a/{x}{/y}/c", "{+u}c"};
  const std::vector<std::string> topics{"/a",         "/a/b",   "/a/b/c", "/a/b/",    "/c/1/d", "/c/12/d",
                                        "/c/123/d",   "/x/b",   "/a?x=1", "/c",       "/a/{x}", "",
                                        "/a/b/c?y=2", "/q/r/s", "/a/q/d", "/a/q/r/c", "/d",     "abc"};
  std::uint32_t rng = 12345;
  auto next = [&](std::uint32_t n) {
    rng = rng * 1664525U + 1013904223U;
    return (rng >> 8) % n;
  };
  SubscriberIndex index;
  std::vector<std::unique_ptr<Subscriber>> subs;
  std::vector<bool> live;
  for (int round = 0; round < 40; ++round) {
    for (int k = 0; k < 10; ++k) {
      std::vector<SelectorPtr> s;
      const std::uint32_t n = 1 + next(3);
      for (std::uint32_t j = 0; j < n; ++j) s.push_back(TopicSelector::compile(pool[next(pool.size())]));
      subs.push_back(std::make_unique<Subscriber>(std::move(s), std::nullopt, OutboxLimits{}));
      live.push_back(true);
      index.add(subs.back().get());
    }
    for (int k = 0; k < 6; ++k) {
      const std::size_t i = next(subs.size());
      if (!live[i]) continue;
      index.remove(subs[i].get());
      live[i] = false;
    }
    std::vector<std::string> ts{topics[next(topics.size())]};
    if (next(2) == 0) ts.push_back(topics[next(topics.size())]);
    auto u = update(ts);
    std::size_t expected = 0;
    for (std::size_t i = 0; i < subs.size(); ++i) expected += live[i] && subs[i]->matches(*u) ? 1 : 0;
    ASSERT_EQ(index.dispatch(u), expected) << "round " << round << " topic " << ts[0];
    for (std::size_t i = 0; i < subs.size(); ++i) {
      ASSERT_EQ(pending(*subs[i]), live[i] && subs[i]->matches(*u) ? 1U : 0U)
          << "round " << round << " subscriber " << i;
    }
  }
  for (std::size_t i = 0; i < subs.size(); ++i) {
    if (live[i]) index.remove(subs[i].get());
  }
  EXPECT_EQ(index.size(), 0U);
  EXPECT_EQ(index.pattern_groups(), 0U);
}

}  // namespace
}  // namespace mercure
