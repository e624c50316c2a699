#include "common/metrics/auroc.h"

#include "common/util/error.h"
#include "common/util/radix_sort.h"

namespace cfm {

std::optional<double> auroc(const std::vector<float>& scores, const std::vector<std::uint8_t>& labels) {
  CFM_ASSERT(scores.size() == labels.size());
  std::vector<float> positives, negatives;
  for (std::size_t i = 0; i < scores.size(); ++i) (labels[i] ? positives : negatives).push_back(scores[i]);
  if (positives.empty() || negatives.empty()) return std::nullopt;
  sort_floats(positives);
  sort_floats(negatives);
  // One merge pass: each positive beats the negatives strictly below it and ties with the equal ones
  // (counted half).
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

}  // namespace cfm
