#include "common/features/feature_extractor.h"

#include <ATen/CPUGeneratorImpl.h>
#include <fmt/format.h>
#include <torch/torch.h>

#include "common/features/feature_alignment.h"
#include "common/models/checkpoint/state_dict.h"
#include "common/runtime/device_code.h"
#include "common/runtime/thread_policy.h"
#include "common/util/error.h"

namespace cfm {

FeatureExtractor::FeatureExtractor(const BackboneConfig& config, at::Device device)
    : config_(config), device_(device), generator_(at::make_generator<at::CPUGeneratorImpl>(config.seed)) {
  if (config.vit_weights.empty()) throw UsageError("no ViT weights given (vit_weights / --vit-weights)");
  if (config.point_mae_weights.empty())
    throw UsageError("no Point-MAE weights given (point_mae_weights / --point-mae-weights)");
  if (config.grid < 4) throw UsageError(fmt::format("grid must be at least 4, got {}", config.grid));
  vit_ = std::make_unique<VitBackbone>(read_checkpoint(config.vit_weights), config.vit, config.layers_kept,
                                       config.vit_weights);
  point_mae_ = std::make_unique<PointMaeBackbone>(read_checkpoint(config.point_mae_weights), config.point_mae,
                                                  config.layers_kept, config.mode, config.point_mae_weights);
  vit_->to(device_);
  point_mae_->to(device_);
}

BackboneOutputs FeatureExtractor::extract(const at::Tensor& rgb_in, const at::Tensor& cloud_in) {
  check_cloud(cloud_in);
  const at::Tensor rgb = on_device(rgb_in, device_);
  at::Tensor rgb_map = vit_->forward(rgb);
  BackboneOutputs out = extract_points(cloud_in);
  out.rgb_map = rgb_map;
  return out;
}

void FeatureExtractor::check_cloud(const at::Tensor& cloud) const {
  if (cloud.dim() != 3 || cloud.size(0) != 3 || cloud.size(1) != config_.grid ||
      cloud.size(2) != config_.grid)
    throw UsageError(
        fmt::format("the point cloud must be 3 x {0} x {0} (the configured grid)", config_.grid));
}

BackboneOutputs FeatureExtractor::extract_points(const at::Tensor& cloud_in) {
  check_cloud(cloud_in);
  const at::Tensor cloud = on_device(cloud_in, device_);
  BackboneOutputs out;
  out.pixel_indices = valid_pixel_indices(cloud);
  out.valid_points = cloud.reshape({3, -1}).index_select(1, out.pixel_indices).transpose(0, 1).contiguous();
  if (out.valid_points.size(0) == 0)
    throw Error("the point cloud is empty: no pixel has three non-zero coordinates");
  std::int64_t centres_per_chunk =
      std::max<std::int64_t>(1, static_cast<std::int64_t>(config_.chunk_points) * 1024 /
                                    std::max<std::int64_t>(1, out.valid_points.size(0)));
  out.points = point_mae_->forward(out.valid_points, generator_, centres_per_chunk);
  return out;
}

AlignedFeatures FeatureExtractor::align(const BackboneOutputs& in) const {
  BackboneOutputs outputs = in;
  for (at::Tensor* t : {&outputs.rgb_map, &outputs.points.centres, &outputs.points.features,
                        &outputs.pixel_indices, &outputs.valid_points})
    *t = on_device(*t, device_);
  AlignedFeatures out;
  RowParallelThreads cores;  // the interpolation's and pooling's loops over points and pixels
  at::Tensor per_point =
      interpolate_point_features(outputs.valid_points, outputs.points.centres, outputs.points.features,
                                 static_cast<std::int64_t>(config_.chunk_points));
  out.xyz_patch = point_features_to_grid(per_point, outputs.pixel_indices, config_.grid);
  out.rgb_patch = rgb_features_to_grid(outputs.rgb_map, config_.grid);
  out.empty = empty_pixel_mask(out.xyz_patch);
  return out;
}

void FeatureExtractor::reseed(std::uint64_t seed) {
  config_.seed = seed;
  generator_ = at::make_generator<at::CPUGeneratorImpl>(seed);
}

}  // namespace cfm
