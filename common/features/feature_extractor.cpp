#include "common/features/feature_extractor.h"

#include <ATen/CPUGeneratorImpl.h>
#include <fmt/format.h>
#include <torch/torch.h>

#include "common/features/feature_alignment.h"
#include "common/models/checkpoint/state_dict.h"
#include "common/runtime/device_code.h"
#include "common/runtime/precision.h"
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

BackboneOutputs FeatureExtractor::extract(const at::Tensor& rgb, const at::Tensor& cloud) {
  return extract_batch({rgb}, {cloud})[0];
}

std::vector<BackboneOutputs> FeatureExtractor::extract_batch(const std::vector<at::Tensor>& rgbs,
                                                             const std::vector<at::Tensor>& clouds) {
  CFM_ASSERT(rgbs.size() == clouds.size() && !rgbs.empty());
  std::vector<BackboneOutputs> out;
  std::vector<at::Tensor> images;
  for (std::size_t i = 0; i < rgbs.size(); ++i) {
    out.push_back(valid_points(clouds[i]));
    images.push_back(on_device(rgbs[i], device_));
  }
  const at::Tensor rgb_maps = vit_->forward_batch(torch::stack(images));
  point_features(out);
  for (std::size_t i = 0; i < out.size(); ++i) out[i].rgb_map = rgb_maps[static_cast<std::int64_t>(i)];
  return out;
}

void FeatureExtractor::check_cloud(const at::Tensor& cloud) const {
  if (cloud.dim() != 3 || cloud.size(0) != 3 || cloud.size(1) != config_.grid ||
      cloud.size(2) != config_.grid)
    throw UsageError(
        fmt::format("the point cloud must be 3 x {0} x {0} (the configured grid)", config_.grid));
}

BackboneOutputs FeatureExtractor::valid_points(const at::Tensor& cloud_in) const {
  check_cloud(cloud_in);
  const at::Tensor cloud = on_device(cloud_in, device_);
  BackboneOutputs out;
  out.pixel_indices = valid_pixel_indices(cloud);
  out.valid_points = cloud.reshape({3, -1}).index_select(1, out.pixel_indices).transpose(0, 1).contiguous();
  if (out.valid_points.size(0) == 0)
    throw Error("the point cloud is empty: no pixel has three non-zero coordinates");
  return out;
}

void FeatureExtractor::point_features(std::vector<BackboneOutputs>& outputs) {
  std::vector<at::Tensor> clouds;
  for (const BackboneOutputs& o : outputs) clouds.push_back(o.valid_points);
  std::vector<PointFeatures> features =
      point_mae_->forward_batch(clouds, generator_, static_cast<std::int64_t>(config_.chunk_points) * 1024);
  for (std::size_t i = 0; i < outputs.size(); ++i) outputs[i].points = std::move(features[i]);
}

BackboneOutputs FeatureExtractor::extract_points(const at::Tensor& cloud) {
  std::vector<BackboneOutputs> out = {valid_points(cloud)};
  point_features(out);
  return out[0];
}

AlignedFeatures FeatureExtractor::align(const BackboneOutputs& in) const {
  BackboneOutputs outputs = in;
  for (at::Tensor* t : {&outputs.rgb_map, &outputs.points.centres, &outputs.points.features,
                        &outputs.pixel_indices, &outputs.valid_points})
    *t = on_device(*t, device_);
  outputs.rgb_map = outputs.rgb_map.to(torch::kFloat32);  // bfloat16 under a bf16 precision
  outputs.points.features = outputs.points.features.to(torch::kFloat32);
  FullPrecision geometry;  // the interpolation's distances cancel badly: never in bfloat16
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
