#include "core/deadline_heap.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <vector>

namespace mercure {
namespace {

using Clock = DeadlineHeap::Clock;
using std::chrono::milliseconds;

struct Item : DeadlineEntry {
  int id = 0;
};

Clock::time_point at(int ms) {
  return Clock::time_point{} + milliseconds(ms);
}

TEST(DeadlineHeap, PopsInDeadlineOrderAndOnlyWhenDue) {
  DeadlineHeap heap;
  std::vector<Item> items(5);
  const int deadlines[] = {50, 10, 40, 20, 30};
  for (int i = 0; i < 5; ++i) {
    items[i].id = i;
    heap.schedule(&items[i], at(deadlines[i]));
  }
  EXPECT_EQ(heap.size(), 5U);
  EXPECT_EQ(heap.pop_due(at(9)), nullptr);
  std::vector<int> order;
  while (auto* e = heap.pop_due(at(100))) {
    order.push_back(static_cast<Item*>(e)->id);
    EXPECT_FALSE(e->scheduled());
  }
  EXPECT_EQ(order, (std::vector<int>{1, 3, 4, 2, 0}));
  EXPECT_TRUE(heap.empty());
}

TEST(DeadlineHeap, RescheduleMovesAnEntryEarlierOrLater) {
  DeadlineHeap heap;
  Item a, b, c;
  heap.schedule(&a, at(10));
  heap.schedule(&b, at(20));
  heap.schedule(&c, at(30));
  heap.schedule(&a, at(40));  // later
  EXPECT_EQ(heap.top(), &b);
  heap.schedule(&c, at(5));  // earlier
  EXPECT_EQ(heap.top(), &c);
  EXPECT_EQ(heap.size(), 3U);
  EXPECT_EQ(a.deadline(), at(40));
}

TEST(DeadlineHeap, CancelRemovesAnyEntryAndIsIdempotent) {
  DeadlineHeap heap;
  Item a, b, c;
  heap.schedule(&a, at(10));
  heap.schedule(&b, at(20));
  heap.schedule(&c, at(30));
  heap.cancel(&a);
  heap.cancel(&a);
  EXPECT_FALSE(a.scheduled());
  EXPECT_EQ(heap.top(), &b);
  heap.cancel(&c);
  EXPECT_EQ(heap.pop_due(at(100)), &b);
  EXPECT_EQ(heap.pop_due(at(100)), nullptr);
}

// Random schedules, reschedules and cancels against a multimap model.
TEST(DeadlineHeap, AgreesWithAModelUnderRandomOperations) {
  std::mt19937 rng(7);
  DeadlineHeap heap;
  std::vector<Item> items(200);
  for (int i = 0; i < 200; ++i) items[i].id = i;
  std::map<int, int> model;  // id -> deadline (ms)
  for (int round = 0; round < 20000; ++round) {
    Item& it = items[rng() % items.size()];
    if (rng() % 4 == 0) {
      heap.cancel(&it);
      model.erase(it.id);
    } else {
      const int when = static_cast<int>(rng() % 1000);
      heap.schedule(&it, at(when));
      model[it.id] = when;
    }
    ASSERT_EQ(heap.size(), model.size());
    if (!model.empty()) {
      const int earliest =
          std::min_element(model.begin(), model.end(), [](auto& x, auto& y) { return x.second < y.second; })->second;
      ASSERT_EQ(heap.top()->deadline(), at(earliest));
    }
  }
  int last = -1;
  while (auto* e = heap.pop_due(at(1000))) {
    const int when = static_cast<int>(std::chrono::duration_cast<milliseconds>(e->deadline() - at(0)).count());
    EXPECT_GE(when, last);
    EXPECT_EQ(model.at(static_cast<Item*>(e)->id), when);
    last = when;
  }
}

}  // namespace
}  // namespace mercure
