// CFM's crossmodal mapping networks (docs/method.md §4.1): FeatureProjectionMLP(in, out) =
// Linear(in -> h), GELU, Linear(h -> h), GELU, Linear(h -> out) with h = (in + out) / 2, applied row-wise.
// CFM_2Dto3D maps 768 -> 1152, CFM_3Dto2D maps 1152 -> 768. State-dict keys are the official ones
// (input/projection/output.weight|bias), so checkpoints load in Python with load_state_dict and the
// released checkpoints load here.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>

#include <string>

#include "common/models/checkpoint/state_dict.h"

namespace cfm {

class MappingNetworkImpl : public torch::nn::Module {
 public:
  MappingNetworkImpl(std::int64_t in_features, std::int64_t out_features);
  at::Tensor forward(const at::Tensor& x);

  std::int64_t in_features() const { return in_; }
  std::int64_t out_features() const { return out_; }
  std::int64_t hidden_features() const { return (in_ + out_) / 2; }

  StateDict state() const;
  // Strict: every key present with the right shape, or a FormatError naming `path` and listing the problems.
  void load_state(const StateDict& weights, const std::string& path);

 private:
  std::int64_t in_, out_;
  torch::nn::Linear input_{nullptr}, projection_{nullptr}, output_{nullptr};
};
TORCH_MODULE(MappingNetwork);

// Official checkpoint file names: CFM_2Dto3D_<class>_<E>ep_<B>bs.pth and CFM_3Dto2D_…
std::string mapping_checkpoint_name(const std::string& direction, const std::string& category, int epochs,
                                    int batch_size);

void save_mapping_network(MappingNetwork& network, const std::string& path);

// The pair CFM trains and scores with.
struct CrossmodalMappers {
  MappingNetwork to_3d{nullptr};  // CFM_2Dto3D: RGB features -> point features
  MappingNetwork to_2d{nullptr};  // CFM_3Dto2D
};

// Freshly initialised networks (PyTorch's default initialisation, from `seed`).
CrossmodalMappers make_mappers(std::int64_t rgb_channels, std::int64_t point_channels,
                               std::uint64_t seed = 115);
// Reads a state-dict file (.pth or .safetensors) and builds a network of the sizes it holds.
MappingNetwork load_mapping_network(const std::string& path);

}  // namespace cfm
