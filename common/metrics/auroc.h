// Area under the ROC curve as sklearn's roc_auc_score computes it (docs/method.md §6.1-6.2): the
// Mann-Whitney statistic with tied scores counted half. Sort-based, O(n log n): the ~6.5 M pixels of a
// full MVTec category take well under a second.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

namespace cfm {

// nullopt when there is no positive or no negative label: the AUROC is undefined then.
std::optional<double> auroc(const std::vector<float>& scores, const std::vector<std::uint8_t>& labels);

}  // namespace cfm
