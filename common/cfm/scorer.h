// Anomaly maps from the crossmodal predictions (docs/method.md §5 steps 3-6):
//   s3D = || n(xyz_pred) - n(xyz_patch) ||, s2D = || n(rgb_pred) - n(rgb_patch) ||, n(v) = v / max(|v|,
//   1e-12), both zeroed on 3D-empty pixels, S = s2D * s3D zeroed again, then 5 passes of a 5x5 and 3 passes
//   of a 7x7 zero-padded mean filter. The smoothing is a direct convolution: pixels farther than 19 px from
//   any non-zero score stay exactly 0, which the per-image normalisations rely on (FFT or Winograd would
//   not).
#pragma once

#include <ATen/core/Tensor.h>

namespace cfm {

struct AnomalyMaps {
  at::Tensor map_2d;    // S x S, s2D (masked)
  at::Tensor map_3d;    // S x S, s3D (masked)
  at::Tensor combined;  // S x S, smoothed product: the anomaly map before the per-image normalisations
};

// Row-wise normalised L2 distance of N x C predictions and targets: N values.
at::Tensor normalised_discrepancy(const at::Tensor& prediction, const at::Tensor& target);

// `passes` applications of a size x size mean filter (weights 1/size²) with zero padding size/2.
at::Tensor box_filter(const at::Tensor& map, int size, int passes);

// The smoothing of products s2D * s3D: a box_filter of 5 passes at 5x5, then 3 at 7x7; S x S or B x S x S.
at::Tensor smooth_anomaly_maps(const at::Tensor& products);

// rgb/xyz patches and predictions are S² x C; `empty` is the S² 3D-empty mask.
AnomalyMaps score_sample(const at::Tensor& rgb_patch, const at::Tensor& rgb_prediction,
                         const at::Tensor& xyz_patch, const at::Tensor& xyz_prediction,
                         const at::Tensor& empty, int grid);

// The same s2D and s3D from the rows of the non-empty pixels alone (`kept`: their raster indices, int64;
// the four tensors: those pixels' rows, in that order), `combined` left empty: smooth_anomaly_maps of
// map_2d * map_3d gives score_sample's, several samples' at once where a caller has them. Empty pixels
// score 0 in score_sample whatever their rows hold (and the keep mask multiplies the others by 1), so this
// equals it bit for bit without reading or building the S² x C rows of the others.
AnomalyMaps discrepancy_maps(const at::Tensor& kept, const at::Tensor& rgb_rows,
                             const at::Tensor& rgb_prediction, const at::Tensor& xyz_rows,
                             const at::Tensor& xyz_prediction, int grid);

}  // namespace cfm
