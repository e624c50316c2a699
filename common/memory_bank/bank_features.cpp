#include "common/memory_bank/bank_features.h"

#include <torch/torch.h>

#include "common/features/feature_alignment.h"

namespace cfm {

BankFeatures bank_features(const FeatureExtractor& extractor, const BackboneOutputs& in) {
  torch::NoGradGuard no_grad;
  const at::Device device = extractor.device();
  const int grid = extractor.config().grid;
  BankFeatures out;
  at::Tensor rgb_map = in.rgb_map.to(device);
  out.rgb_side = static_cast<int>(rgb_map.size(1));
  out.rgb = rgb_map.reshape({rgb_map.size(0), -1}).transpose(0, 1).contiguous();
  at::Tensor per_point = interpolate_point_features(
      in.valid_points.to(device), in.points.centres.to(device), in.points.features.to(device),
      static_cast<std::int64_t>(extractor.config().chunk_points));  // N x C3
  const std::int64_t channels = per_point.size(1);
  at::Tensor full = torch::zeros({channels, std::int64_t{grid} * grid}, per_point.options());
  full.index_copy_(1, in.pixel_indices.to(device), per_point.transpose(0, 1));
  at::Tensor pooled = torch::adaptive_avg_pool2d(
      torch::avg_pool2d(full.reshape({1, channels, grid, grid}), {3, 3}, {1, 1}, {0, 0}),
      {kBankGridSide, kBankGridSide});
  out.xyz = pooled.reshape({channels, -1}).transpose(0, 1).contiguous();
  return out;
}

}  // namespace cfm
