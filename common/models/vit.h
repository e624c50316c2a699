// The 2D backbone: a timm/DINO Vision Transformer (docs/method.md §3.1-3.2), functional over the weights as
// they are stored (keys `cls_token`, `pos_embed`, `patch_embed.proj.*`, `blocks.i.*`, `norm.*`). Widths,
// depth, MLP size, patch size and token count come from the weights; heads from the configuration.
// Output: final-normed tokens of the last kept block without the class token, as C x h x w.
#pragma once

#include <ATen/core/Tensor.h>

#include "common/models/checkpoint/state_dict.h"
#include "common/settings/backbone_config.h"

namespace cfm {

class VitBackbone {
 public:
  // `weights` as read from the file (DINO / timm layouts; "teacher."/"module."/"backbone." prefixes are
  // handled). Throws FormatError naming `path` when the weights do not fit.
  VitBackbone(const StateDict& weights, const VitConfig& config, int layers_kept, const std::string& path);

  // rgb: 3 x S x S (normalised), S = config.image_size. Returns C x (S/patch) x (S/patch).
  at::Tensor forward(const at::Tensor& rgb) const;
  // B x 3 x S x S -> B x C x (S/patch) x (S/patch): several images in one pass (larger matrix products,
  // which a GPU needs to be busy); each image's result is forward()'s for it.
  at::Tensor forward_batch(const at::Tensor& rgb) const;

  int dim() const { return dim_; }
  int depth_in_file() const { return depth_in_file_; }
  std::int64_t parameter_count() const;
  void to(const at::Device& device);

 private:
  at::Tensor block(const at::Tensor& x, int index) const;
  const at::Tensor& w(const std::string& key) const { return weights_.at(key); }

  StateDict weights_;
  VitConfig config_;
  int layers_kept_;
  int dim_ = 0, depth_in_file_ = 0, grid_ = 0;
};

// DINO/timm key normalisation: teacher sub-dictionary if present, "module." and "backbone." removed.
StateDict normalise_vit_keys(const StateDict& weights);

}  // namespace cfm
