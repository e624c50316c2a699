#include "metrics/auroc.h"

#include <algorithm>
#include <numeric>

#include "util/error.h"

namespace cfm {

std::optional<double> auroc(const std::vector<float>& scores, const std::vector<std::uint8_t>& labels) {
  CFM_ASSERT(scores.size() == labels.size());
  std::vector<std::uint32_t> order(scores.size());
  std::iota(order.begin(), order.end(), 0u);
  std::sort(order.begin(), order.end(), [&](std::uint32_t a, std::uint32_t b) { return scores[a] < scores[b]; });
  // Walk groups of equal scores in ascending order: each positive beats every negative below it and ties
  // with the negatives of its own group (counted half).
  double wins = 0, negatives_below = 0, positives = 0;
  for (std::size_t start = 0; start < order.size();) {
    std::size_t end = start;
    double group_positives = 0, group_negatives = 0;
    for (; end < order.size() && scores[order[end]] == scores[order[start]]; ++end)
      (labels[order[end]] ? group_positives : group_negatives) += 1;
    wins += group_positives * (negatives_below + 0.5 * group_negatives);
    negatives_below += group_negatives;
    positives += group_positives;
    start = end;
  }
  double negatives = negatives_below;
  if (positives == 0 || negatives == 0) return std::nullopt;
  return wins / (positives * negatives);
}

}  // namespace cfm
