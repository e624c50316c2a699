// The 3D backbone: Point-MAE's encoder as CFM uses it (docs/method.md §3.3-3.6), functional over the
// weights as stored (`encoder.first_conv.*`, `encoder.second_conv.*`, `pos_embed.*`, `blocks.blocks.i.*`,
// `norm.*`), after Point-MAE's key clean-up ('base_model' sub-dictionary, "module." removed, leading
// "MAE_encoder." / "base_model." stripped). Widths come from the weights; heads, G and k from the config.
#pragma once

#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>

#include <vector>

#include "common/models/checkpoint/state_dict.h"
#include "common/settings/backbone_config.h"

namespace cfm {

struct PointFeatures {
  at::Tensor centres;       // G x 3
  at::Tensor centre_index;  // G int64, index into the valid points (raster order)
  at::Tensor features;      // C3 x G (C3 = 3 x width for the 12/8/4-layer fetches)
};

class PointMaeBackbone {
 public:
  PointMaeBackbone(const StateDict& weights, const PointMaeConfig& config, int layers_kept, BackboneMode mode,
                   const std::string& path);

  // points: N x 3 float32, the valid points in raster order. DataError-free: throws UsageError when N is
  // smaller than G or k. `generator` drives DropPath in official mode.
  PointFeatures forward(const at::Tensor& points, at::Generator& generator,
                        std::int64_t centres_per_chunk) const;
  // Several clouds (N_i x 3 each, one device): farthest point sampling over all at once, the neighbours
  // per cloud (distances_per_chunk / N_i centres at a time), then in eval mode the encoder and the blocks
  // over all clouds' groups together; official mode encodes each cloud alone (its own BatchNorm statistics
  // and DropPath draws, in order). Each result equals forward() of its cloud up to the rounding of
  // differently shaped matrix products.
  std::vector<PointFeatures> forward_batch(const std::vector<at::Tensor>& clouds, at::Generator& generator,
                                           std::int64_t distances_per_chunk) const;

  int width() const { return width_; }
  int output_channels() const { return width_ * static_cast<int>(fetch_.size()); }
  std::int64_t parameter_count() const;
  void to(const at::Device& device);

 private:
  at::Tensor batch_norm(const at::Tensor& x, const std::string& prefix) const;
  at::Tensor encode_groups(const at::Tensor& neighbourhoods) const;
  at::Tensor encode_groups_folded(const at::Tensor& neighbourhoods) const;
  // B x G x C tokens and B x G x 3 centres -> B x C3 x G features: the position embedding and the blocks.
  at::Tensor encode(const at::Tensor& tokens, const at::Tensor& centres, at::Generator& generator) const;
  at::Tensor block(const at::Tensor& x, int index, at::Generator& generator) const;
  const at::Tensor& w(const std::string& key) const { return weights_.at(key); }

  StateDict weights_;
  PointMaeConfig config_;
  int layers_kept_;
  BackboneMode mode_;
  int width_ = 0, depth_in_file_ = 0;
  std::vector<int> fetch_;
};

StateDict normalise_point_mae_keys(const StateDict& weights);

}  // namespace cfm
