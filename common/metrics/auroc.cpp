#include "common/metrics/auroc.h"

#include <algorithm>

#include "common/util/error.h"

namespace cfm {
namespace {

// The Mann-Whitney statistic: the fraction of (positive, negative) pairs with the positive above, ties
// counting half. Both sorted, then one merge pass. Wins are whole or half numbers below 2^53, so the sum
// is exact whatever the order.
std::optional<double> mann_whitney(std::vector<float> positives, std::vector<float> negatives) {
  if (positives.empty() || negatives.empty()) return std::nullopt;
  std::sort(positives.begin(), positives.end());
  std::sort(negatives.begin(), negatives.end());
  double wins = 0;
  std::size_t below = 0, up_to = 0;  // negatives < p, negatives <= p
  for (float p : positives) {
    while (below < negatives.size() && negatives[below] < p) ++below;
    if (up_to < below) up_to = below;
    while (up_to < negatives.size() && negatives[up_to] <= p) ++up_to;
    wins += static_cast<double>(below) + 0.5 * static_cast<double>(up_to - below);
  }
  return wins / (static_cast<double>(positives.size()) * static_cast<double>(negatives.size()));
}

}  // namespace

std::optional<double> auroc(const std::vector<float>& scores, const std::vector<std::uint8_t>& labels) {
  CFM_ASSERT(scores.size() == labels.size());
  std::vector<float> positives, negatives;
  for (std::size_t i = 0; i < scores.size(); ++i) (labels[i] ? positives : negatives).push_back(scores[i]);
  return mann_whitney(std::move(positives), std::move(negatives));
}

std::optional<double> pixel_auroc(const PixelMaps& maps, const std::vector<float>& divisors) {
  CFM_ASSERT(maps.scores.size() == maps.masks.size());
  CFM_ASSERT(divisors.empty() || divisors.size() == maps.scores.size());
  std::vector<float> positives, negatives;
  for (std::size_t i = 0; i < maps.scores.size(); ++i) {
    const std::vector<float>& scores = maps.scores[i].pixels;
    const std::vector<std::uint8_t>& mask = maps.masks[i].pixels;
    CFM_ASSERT(scores.size() == mask.size());
    const float divisor = divisor_of(divisors, i);
    for (std::size_t p = 0; p < scores.size(); ++p)
      (mask[p] ? positives : negatives).push_back(scores[p] / divisor);
  }
  return mann_whitney(std::move(positives), std::move(negatives));
}

}  // namespace cfm
