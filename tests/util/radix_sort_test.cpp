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

TEST(RadixSort, SortedValuesAtEqualsTheFullSortsEntries) {
  std::mt19937 rng(3);
  std::normal_distribution<float> noise(1.f, 0.3f);
  std::uniform_int_distribution<int> level(-50, 50);
  // A wide spread with negatives, zeros and infinities; a narrow one where many values share one bucket
  // of the select and many wanted positions fall into the same bucket; coarse levels (many ties).
  std::vector<float> spread = {-INFINITY, INFINITY, -0.f, 0.f}, narrow, coarse;
  for (int i = 0; i < 100000; ++i) {
    spread.push_back(noise(rng) * 1e3f - 900.f);
    narrow.push_back(1.f + static_cast<float>(i % 977) * 1e-7f);
    coarse.push_back(static_cast<float>(level(rng)) * 0.25f);
  }
  for (const auto* values : {&spread, &narrow, &coarse}) {
    std::vector<float> sorted = *values;
    std::sort(sorted.begin(), sorted.end());
    const std::size_t n = values->size();
    std::vector<std::size_t> positions = {0, n - 1, n / 2, n / 2, n / 2 + 1, 7, n - 2};
    for (int k = 0; k < 99; ++k) positions.push_back(static_cast<std::size_t>(k * (n - 1) / 98));
    const std::vector<float> selected = sorted_values_at(*values, positions);
    ASSERT_EQ(selected.size(), positions.size());
    for (std::size_t i = 0; i < positions.size(); ++i)
      EXPECT_EQ(selected[i], sorted[positions[i]]) << "position " << positions[i];
  }
}

TEST(RadixSort, RangeOverloadSortsOnlyItsRange) {
  std::vector<std::uint32_t> keys = {9, 3, 7, 1, 8, 2, 0};
  radix_sort(keys.data() + 1, 4, 4);  // 3 7 1 8 -> 1 3 7 8
  EXPECT_EQ(keys, (std::vector<std::uint32_t>{9, 1, 3, 7, 8, 2, 0}));
}

}  // namespace
}  // namespace cfm
