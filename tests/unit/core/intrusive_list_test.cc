#include "core/intrusive_list.h"

#include <vector>

#include "gtest/gtest.h"

namespace sy::core {
namespace {

struct OnBoth;
struct SecondListTag {};

struct OnBoth : ListLinks<OnBoth>, ListLinks<OnBoth, SecondListTag> {
  explicit OnBoth(int v) : value(v) {}
  int value;
};

template <typename List>
std::vector<int> values(List& list) {
  std::vector<int> out;
  list.forEach([&](OnBoth* e) { out.push_back(e->value); });
  return out;
}

TEST(IntrusiveListTest, PushesAtBothEndsAndRemovesFromAnywhere) {
  OnBoth a(1), b(2), c(3), d(4);
  IntrusiveList<OnBoth> list;
  EXPECT_TRUE(list.empty());
  list.pushBack(&b);
  list.pushBack(&c);
  list.pushFront(&a);
  list.pushBack(&d);
  EXPECT_EQ(values(list), (std::vector<int>{1, 2, 3, 4}));
  EXPECT_EQ(list.size(), 4u);
  EXPECT_EQ(list.front(), &a);
  EXPECT_EQ(list.back(), &d);

  list.remove(&c);  // middle
  EXPECT_FALSE(list.contains(&c));
  list.remove(&a);  // head
  list.remove(&d);  // tail
  EXPECT_EQ(values(list), (std::vector<int>{2}));
  EXPECT_EQ(list.front(), &b);
  EXPECT_EQ(list.back(), &b);
  EXPECT_TRUE(list.contains(&b));
  list.remove(&b);  // the last one
  EXPECT_TRUE(list.empty());
  EXPECT_EQ(list.size(), 0u);
  EXPECT_EQ(list.front(), nullptr);
  EXPECT_EQ(list.back(), nullptr);

  list.pushFront(&c);  // a removed element can be pushed again
  EXPECT_EQ(values(list), (std::vector<int>{3}));
  list.remove(&c);
}

TEST(IntrusiveListTest, AnElementSitsOnTwoListsWithTwoTags) {
  OnBoth a(1), b(2);
  IntrusiveList<OnBoth> first;
  IntrusiveList<OnBoth, SecondListTag> second;
  first.pushBack(&a);
  first.pushBack(&b);
  second.pushBack(&b);
  second.pushBack(&a);
  EXPECT_EQ(values(first), (std::vector<int>{1, 2}));
  EXPECT_EQ(values(second), (std::vector<int>{2, 1}));
  first.remove(&a);
  EXPECT_EQ(values(second), (std::vector<int>{2, 1}));  // untouched
  EXPECT_TRUE(second.contains(&a));
  EXPECT_FALSE(first.contains(&a));
  first.remove(&b);
  second.remove(&a);
  second.remove(&b);
}

TEST(IntrusiveListTest, ForEachLetsTheVisitRemoveAndFreeItsElement) {
  IntrusiveList<OnBoth> list;
  for (int i = 0; i < 5; ++i) list.pushBack(new OnBoth(i));
  std::vector<int> seen;
  list.forEach([&](OnBoth* e) {
    seen.push_back(e->value);
    list.remove(e);
    delete e;  // ASan would report a read of the freed element
  });
  EXPECT_EQ(seen, (std::vector<int>{0, 1, 2, 3, 4}));
  EXPECT_TRUE(list.empty());
}

}  // namespace
}  // namespace sy::core
