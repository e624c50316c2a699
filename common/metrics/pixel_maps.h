// Anomaly maps with their ground-truth masks, the input of the pixel metrics (P-AUROC, AU-PRO).
#pragma once

#include <cstddef>
#include <vector>

#include "common/data/image.h"

namespace cfm {

struct PixelMaps {
  std::vector<Image<float>> scores;  // one H x W map per image
  std::vector<ImageU8> masks;        // same sizes; non-zero = anomalous
};

// The per-image normalisations divide each map by its own constant. The metrics take those constants
// (`divisors`, one per map; empty = 1) instead of normalised copies of the maps, and divide as they read:
// in float32, as the official code divides float32 tensors, because the rounding decides ties between
// pixels and ties matter to every metric.
inline float divisor_of(const std::vector<float>& divisors, std::size_t map) {
  return divisors.empty() ? 1.f : divisors[map];
}

}  // namespace cfm
