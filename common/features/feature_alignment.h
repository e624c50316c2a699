// Backbone outputs to per-pixel features on the S x S grid (docs/method.md §3.7-3.10).
#pragma once

#include <ATen/core/Tensor.h>

namespace cfm {

// Raster indices (int64) of the pixels whose three coordinates are all non-zero; cloud: 3 x S x S.
at::Tensor valid_pixel_indices(const at::Tensor& cloud);

// 3-nearest-centre interpolation with inverse SQUARED distances 1/(d² + 1e-8), d² from the dot-product
// expansion as the official code (§3.7). points N x 3, centres G x 3, features C x G -> N x C; the
// distances take one N x G product, the weighted gather runs `points_per_chunk` points at a time.
at::Tensor interpolate_point_features(const at::Tensor& points, const at::Tensor& centres,
                                      const at::Tensor& features, std::int64_t points_per_chunk);

// Scatter N x C features to their pixels (zeros elsewhere), 3x3 mean without padding (S -> S-2), adaptive
// average pool back to S x S (§3.8). Returns S² x C, row p = y * S + x.
at::Tensor point_features_to_grid(const at::Tensor& point_features, const at::Tensor& pixel_indices,
                                  int grid);

// Bilinear upsampling (align_corners = false) of a C x h x w map to S x S (§3.9). Returns S² x C.
at::Tensor rgb_features_to_grid(const at::Tensor& feature_map, int grid);

// "3D-empty" pixels: the xyz feature row sums to exactly 0 (§3.10). S² bool.
at::Tensor empty_pixel_mask(const at::Tensor& xyz_patch);

}  // namespace cfm
