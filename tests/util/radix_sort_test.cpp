#include "common/util/radix_sort.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

namespace cfm {
namespace {

TEST(RadixSort, EqualsStdSortIncludingDigitsAllKeysShare) {
  std::mt19937_64 rng(5);
  for (std::size_t n : {0u, 1u, 1000u, 70000u}) {
    std::vector<std::uint32_t> spread(n), narrow(n);
    for (std::size_t i = 0; i < n; ++i) {
      spread[i] = static_cast<std::uint32_t>(rng());
      narrow[i] = 0x7f000000u | static_cast<std::uint32_t>(rng() % 3000);  // top and middle digits shared
    }
    for (auto* keys : {&spread, &narrow}) {
      std::vector<std::uint32_t> expected = *keys;
      std::sort(expected.begin(), expected.end());
      radix_sort(*keys);
      EXPECT_EQ(*keys, expected) << n;
    }
    std::vector<std::uint64_t> wide(n);
    for (auto& k : wide) k = (rng() % 5) << 40 | (rng() & 0xffffffffu);  // a score-and-region key shape
    std::vector<std::uint64_t> expected = wide;
    std::sort(expected.begin(), expected.end());
    radix_sort(wide, 64);
    EXPECT_EQ(wide, expected) << n;
  }
}

TEST(RadixSort, FloatsInNumericOrderWithSignsZerosAndInfinities) {
  std::vector<float> values = {3.5f, -0.f, 0.f, -INFINITY, 1e-38f, -2.f, INFINITY, -1e-38f, 2.f, 3.5f};
  std::mt19937 rng(1);
  std::normal_distribution<float> noise(0.f, 100.f);
  for (int i = 0; i < 5000; ++i) values.push_back(noise(rng));
  std::vector<float> expected = values;
  std::sort(expected.begin(), expected.end());
  sort_floats(values);
  ASSERT_EQ(values.size(), expected.size());
  for (std::size_t i = 0; i < values.size(); ++i) EXPECT_EQ(values[i], expected[i]) << i;  // -0 == +0
}

}  // namespace
}  // namespace cfm
