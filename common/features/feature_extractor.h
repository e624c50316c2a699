// Runs both frozen backbones on one sample and aligns their outputs to the pixel grid (docs/method.md §3).
//
//   cfm::FeatureExtractor extractor(config);           // reads and checks both weight files
//   (FeatureExtractor(config, at::Device("cuda:0")) computes on a GPU: outputs live on that device)
//   cfm::BackboneOutputs raw = extractor.extract(sample.rgb, sample.cloud);
//   cfm::AlignedFeatures grid = extractor.align(raw);
#pragma once

#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include <memory>
#include <vector>

#include "common/models/point_mae.h"
#include "common/models/vit.h"
#include "common/settings/backbone_config.h"

namespace cfm {

struct BackboneOutputs {
  at::Tensor rgb_map;        // C x h x w, before upsampling
  PointFeatures points;      // centres, centre_index, features (C3 x G)
  at::Tensor pixel_indices;  // raster indices of the valid pixels (N)
  at::Tensor valid_points;   // N x 3
};

struct AlignedFeatures {
  at::Tensor rgb_patch;  // S² x C
  at::Tensor xyz_patch;  // S² x C3
  at::Tensor empty;      // S² bool, true where the pixel has no 3D feature
};

class FeatureExtractor {
 public:
  explicit FeatureExtractor(const BackboneConfig& config, at::Device device = at::kCPU);

  // rgb: 3 x I x I normalised (I = vit.image_size); cloud: 3 x S x S organized (S = config.grid), on any
  // device. Throws cfm::Error when the cloud has no valid point. `align` accepts outputs on any device
  // (e.g. read from the feature cache); both return tensors on device().
  BackboneOutputs extract(const at::Tensor& rgb, const at::Tensor& cloud);
  // Several samples at once: the ViT on all images together, Point-MAE as forward_batch (in eval mode its
  // encoder and blocks on all clouds together). Each result equals extract() of its sample up to the
  // rounding of differently shaped matrix products.
  std::vector<BackboneOutputs> extract_batch(const std::vector<at::Tensor>& rgbs,
                                             const std::vector<at::Tensor>& clouds);
  AlignedFeatures align(const BackboneOutputs& outputs) const;
  // The 3D half of extract() (valid pixels, points, Point-MAE features; rgb_map left empty), for timing
  // Point-MAE alone (cfm_feature_benchmark).
  BackboneOutputs extract_points(const at::Tensor& cloud);

  // Restarts the official-mode DropPath generator (training uses seed 115, inference 42).
  void reseed(std::uint64_t seed);

  const BackboneConfig& config() const { return config_; }
  const at::Device& device() const { return device_; }
  const VitBackbone& vit() const { return *vit_; }
  const PointMaeBackbone& point_mae() const { return *point_mae_; }

 private:
  void check_cloud(const at::Tensor& cloud) const;
  BackboneOutputs valid_points(const at::Tensor& cloud) const;  // pixel_indices and valid_points
  void point_features(std::vector<BackboneOutputs>& outputs);   // fills `points` of each

  BackboneConfig config_;
  at::Device device_;
  std::unique_ptr<VitBackbone> vit_;
  std::unique_ptr<PointMaeBackbone> point_mae_;
  at::Generator generator_;  // DropPath draws in official mode, seeded once from config.seed
};

}  // namespace cfm
