#include "common/metrics/auroc.h"

#include <algorithm>
#include <numeric>

#include "common/util/error.h"
#include "common/util/radix_sort.h"

namespace cfm {
namespace {

constexpr int kLowBits = 16;
constexpr std::size_t kBuckets = std::size_t{1} << (32 - kLowBits);

std::uint32_t bucket_of(std::uint32_t key) { return key >> kLowBits; }
std::uint32_t low_half(std::uint32_t key) { return key & ((1u << kLowBits) - 1); }

// Pairs (positive, negative) with the positive above, plus half the tied pairs, among keys sharing their
// top half: positives[first, last) and `negatives` (low halves), both ascending. One merge pass.
double wins_within_bucket(const std::vector<std::uint32_t>& positives, std::size_t first, std::size_t last,
                          const std::uint32_t* negatives, std::size_t negative_count) {
  double wins = 0;
  std::size_t below = 0, up_to = 0;  // negatives < p, negatives <= p
  for (std::size_t i = first; i < last; ++i) {
    const std::uint32_t p = low_half(positives[i]);
    while (below < negative_count && negatives[below] < p) ++below;
    if (up_to < below) up_to = below;
    while (up_to < negative_count && negatives[up_to] <= p) ++up_to;
    wins += static_cast<double>(below) + 0.5 * static_cast<double>(up_to - below);
  }
  return wins;
}

// The Mann-Whitney statistic over ordered keys (they compare as the floats do, -0 == +0).
// `for_each_key(f)` calls f(key, positive) for every scored item, the same items each time; it is called
// twice, so the items are never copied into one big array.
// A positive beats every negative in a lower top-half bucket (counted from a histogram); only the
// negatives sharing a bucket with some positive are gathered and sorted. Anomalous pixels mostly score
// above the bulk of the normal ones, so that is usually a small part of the ~6.5 M negatives of a
// category, and at worst it is one bucketed radix sort of them.
template <typename ForEachKey>
std::optional<double> bucketed_auroc(ForEachKey for_each_key) {
  std::vector<std::uint32_t> positives;
  std::vector<std::size_t> negatives_below(kBuckets + 1, 0);  // a histogram first, then prefix sums
  for_each_key([&](std::uint32_t key, bool positive) {
    if (positive)
      positives.push_back(key);
    else
      ++negatives_below[bucket_of(key) + 1];
  });
  std::partial_sum(negatives_below.begin(), negatives_below.end(), negatives_below.begin());
  const std::size_t negative_count = negatives_below.back();
  if (positives.empty() || negative_count == 0) return std::nullopt;
  radix_sort(positives);
  std::vector<std::uint8_t> holds_positive(kBuckets, 0);
  for (std::uint32_t p : positives) holds_positive[bucket_of(p)] = 1;
  const SortedBuckets shared = gather_sorted_buckets(
      [&](auto&& f) {
        for_each_key([&](std::uint32_t key, bool positive) {
          if (!positive) f(key);
        });
      },
      negatives_below, holds_positive, kLowBits);

  double wins = 0;
  for (std::size_t first = 0; first < positives.size();) {
    const std::uint32_t b = bucket_of(positives[first]);
    std::size_t last = first;
    while (last < positives.size() && bucket_of(positives[last]) == b) ++last;
    const std::uint32_t* negatives = shared.low_bits.data() + shared.start[b];
    wins += static_cast<double>(negatives_below[b]) * static_cast<double>(last - first) +
            wins_within_bucket(positives, first, last, negatives, shared.start[b + 1] - shared.start[b]);
    first = last;
  }
  return wins / (static_cast<double>(positives.size()) * static_cast<double>(negative_count));
}

}  // namespace

std::optional<double> auroc(const std::vector<float>& scores, const std::vector<std::uint8_t>& labels) {
  CFM_ASSERT(scores.size() == labels.size());
  return bucketed_auroc([&](auto&& f) {
    for (std::size_t i = 0; i < scores.size(); ++i) f(ordered_bits(scores[i]), labels[i] != 0);
  });
}

std::optional<double> pixel_auroc(const PixelMaps& maps, const std::vector<float>& divisors) {
  CFM_ASSERT(maps.scores.size() == maps.masks.size());
  CFM_ASSERT(divisors.empty() || divisors.size() == maps.scores.size());
  return bucketed_auroc([&](auto&& f) {
    for (std::size_t i = 0; i < maps.scores.size(); ++i) {
      const std::vector<float>& scores = maps.scores[i].pixels;
      const std::vector<std::uint8_t>& mask = maps.masks[i].pixels;
      CFM_ASSERT(scores.size() == mask.size());
      const float divisor = divisor_of(divisors, i);
      for (std::size_t p = 0; p < scores.size(); ++p) f(ordered_bits(scores[p] / divisor), mask[p] != 0);
    }
  });
}

}  // namespace cfm
