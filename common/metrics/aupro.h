// Per-region overlap (PRO) curves and their normalised areas (docs/method.md §6.3).
//
// Ground-truth regions are the 8-connected components of the masks, pooled over all images; "OK" pixels
// are every pixel outside them (good images included). Two protocols:
//  - official (default, what published CFM numbers use): 99 thresholds taken at the sorted OK scores'
//    positions floor(k (n-1) / 98), FPR = 1 - (pos + 1) / n, PRO = mean over regions of the fraction of
//    the region's pixels scoring strictly above the threshold, plus the point (1, 1);
//  - exact: every distinct score is a threshold (the MVTec 3D-AD evaluation script).
// The area up to an FPR limit is a trapezoid sum with the last segment interpolated, divided by the limit.
#pragma once

#include <cstdint>
#include <vector>

#include "common/data/image.h"
#include "common/metrics/pixel_maps.h"

namespace cfm {

struct ProCurve {
  std::vector<double> fpr;  // ascending
  std::vector<double> pro;
  std::size_t regions = 0;  // ground-truth regions the PROs average over
};

// 8-connected components of the non-zero pixels: label per pixel (0 = background, 1..count).
std::vector<int> label_regions(const ImageU8& mask, int* count);

// `divisors`: see pixel_maps.h (empty: the maps as given).
ProCurve pro_curve_official(const PixelMaps& maps, int thresholds = 99,
                            const std::vector<float>& divisors = {});
ProCurve pro_curve_exact(const PixelMaps& maps, const std::vector<float>& divisors = {});

// Normalised area under the curve up to `limit` (e.g. 0.3, 0.01).
double area_under_pro(const ProCurve& curve, double limit);

}  // namespace cfm
