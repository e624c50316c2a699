#include "cfm/feature_alignment.h"

#include <torch/torch.h>

namespace cfm {

at::Tensor valid_pixel_indices(const at::Tensor& cloud) {
  at::Tensor flat = cloud.reshape({3, -1});
  return (flat != 0).all(0).nonzero().squeeze(1);
}

at::Tensor interpolate_point_features(const at::Tensor& points, const at::Tensor& centres, const at::Tensor& features,
                                      std::int64_t points_per_chunk) {
  torch::NoGradGuard no_grad;
  // square_distance as the official code, in one product over all points (N x G floats, 200 MB at 50k
  // points and G = 1024): -2 p.c, then + |p|², then + |c|². The expansion cancels badly for points next
  // to a centre, so the same operation order and product shape as the reference keep the results equal.
  at::Tensor d = -2 * torch::matmul(points, centres.transpose(0, 1));
  d += points.pow(2).sum(-1).unsqueeze(1);
  d += centres.pow(2).sum(-1).unsqueeze(0);
  // Each row fully sorted and cut to 3, as the official code: a top-k would break ties between equal
  // float distances differently (the expansion makes such ties common near a centre). Rows are sorted
  // independently, so sorting in chunks gives the same result with bounded memory.
  std::vector<at::Tensor> nearest_parts, index_parts;
  for (std::int64_t start = 0; start < points.size(0); start += points_per_chunk) {
    auto [sorted, order] = d.slice(0, start, std::min(points.size(0), start + points_per_chunk)).sort(1);
    nearest_parts.push_back(sorted.slice(1, 0, 3));
    index_parts.push_back(order.slice(1, 0, 3));
  }
  d = at::Tensor();
  at::Tensor nearest = torch::cat(nearest_parts, 0), index = torch::cat(index_parts, 0);
  at::Tensor reciprocal = 1.0 / (nearest + 1e-8);
  at::Tensor weight = reciprocal / reciprocal.sum(1, true);  // N x 3
  at::Tensor by_centre = features.transpose(0, 1);           // G x C
  std::vector<at::Tensor> parts;  // the N x 3 x C gather is done in chunks
  for (std::int64_t start = 0; start < points.size(0); start += points_per_chunk) {
    std::int64_t end = std::min(points.size(0), start + points_per_chunk);
    at::Tensor gathered = by_centre.index({index.slice(0, start, end)});  // n x 3 x C
    parts.push_back((gathered * weight.slice(0, start, end).unsqueeze(-1)).sum(1));
  }
  return torch::cat(parts, 0);
}

at::Tensor point_features_to_grid(const at::Tensor& point_features, const at::Tensor& pixel_indices, int grid) {
  torch::NoGradGuard no_grad;
  const std::int64_t channels = point_features.size(1);
  at::Tensor full = torch::zeros({channels, static_cast<std::int64_t>(grid) * grid}, point_features.options());
  full.index_copy_(1, pixel_indices, point_features.transpose(0, 1));
  at::Tensor map = full.view({1, channels, grid, grid});
  map = torch::avg_pool2d(map, 3, 1, 0);                     // S - 2, zeros included, no padding
  map = torch::adaptive_avg_pool2d(map, {grid, grid});        // back to S: a sub-pixel shift
  return map.reshape({channels, -1}).transpose(0, 1).contiguous();
}

at::Tensor rgb_features_to_grid(const at::Tensor& feature_map, int grid) {
  torch::NoGradGuard no_grad;
  at::Tensor up = torch::upsample_bilinear2d(feature_map.unsqueeze(0), {grid, grid}, /*align_corners=*/false);
  return up.reshape({feature_map.size(0), -1}).transpose(0, 1).contiguous();
}

at::Tensor empty_pixel_mask(const at::Tensor& xyz_patch) { return xyz_patch.sum(1) == 0; }

}  // namespace cfm
