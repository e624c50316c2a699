// Area under the ROC curve as sklearn's roc_auc_score computes it (docs/method.md §6.1-6.2): the
// Mann-Whitney statistic with tied scores counted half. Radix-bucketed, O(n): the ~6.5 M pixels of a
// full MVTec category take tens of milliseconds.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "common/metrics/pixel_maps.h"

namespace cfm {

// nullopt when there is no positive or no negative label: the AUROC is undefined then.
std::optional<double> auroc(const std::vector<float>& scores, const std::vector<std::uint8_t>& labels);

// The AUROC over every pixel of the maps, labelled by the masks (non-zero = positive), each map divided by
// its divisor (pixel_maps.h) as it is read.
std::optional<double> pixel_auroc(const PixelMaps& maps, const std::vector<float>& divisors = {});

}  // namespace cfm
