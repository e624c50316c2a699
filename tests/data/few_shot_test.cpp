#include "common/data/few_shot.h"

#include <fmt/format.h>

#include <algorithm>

#include "common/util/error.h"
#include "common/util/sha256.h"
#include "test_support.h"

namespace cfm {
namespace {

std::vector<SampleFiles> names(int count) {
  std::vector<SampleFiles> samples;
  for (int i = 0; i < count; ++i) {
    SampleFiles s;
    s.name = fmt::format("{:03}", i);
    samples.push_back(s);
  }
  return samples;
}

TEST(Sha256, KnownVector) {
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(FewShot, DeterministicSortedAndSeedDependent) {
  auto train = names(50);
  auto a = sample_names(select_few_shot(train, 5, 1));
  auto b = sample_names(select_few_shot(train, 5, 1));
  auto c = sample_names(select_few_shot(train, 5, 2));
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  EXPECT_EQ(a.size(), 5u);
  EXPECT_TRUE(std::is_sorted(a.begin(), a.end()));
}

TEST(FewShot, IndependentOfListingOrderAndMatchesTheHashRanking) {
  auto train = names(20);
  auto reversed = train;
  std::reverse(reversed.begin(), reversed.end());
  EXPECT_EQ(sample_names(select_few_shot(train, 4, 9)), sample_names(select_few_shot(reversed, 4, 9)));
  // Independent computation: the 4 names with the smallest SHA-256("9:<name>").
  std::vector<std::pair<std::string, std::string>> ranked;
  for (const auto& s : train) ranked.emplace_back(sha256_hex("9:" + s.name), s.name);
  std::sort(ranked.begin(), ranked.end());
  std::vector<std::string> expected;
  for (int i = 0; i < 4; ++i) expected.push_back(ranked[static_cast<std::size_t>(i)].second);
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(sample_names(select_few_shot(train, 4, 9)), expected);
}

TEST(FewShot, KAtLeastTheTrainingSetReturnsAllAndZeroIsAnError) {
  auto train = names(6);
  EXPECT_EQ(select_few_shot(train, 10, 0).size(), 6u);
  EXPECT_THROW(select_few_shot(train, 0, 0), UsageError);
}

}  // namespace
}  // namespace cfm
