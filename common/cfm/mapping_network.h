// CFM's crossmodal mapping networks (docs/method.md §4.1), in the two kinds of the official
// models/feature_transfer_nets.py, applied row-wise, with h = (in + out) / 2:
//  - standard, FeatureProjectionMLP(in, out): Linear(in -> h), GELU, Linear(h -> h), GELU, Linear(h -> out),
//    keys input, projection, output (the released code's networks);
//  - big, FeatureProjectionMLP_big(in, out): Linear(in -> h), then five Linear(h -> h) projection_a …
//    projection_e, then Linear(h -> out), GELU after every layer but the last (the authors' Eyecandies
//    networks).
// CFM_2Dto3D maps 768 -> 1152, CFM_3Dto2D maps 1152 -> 768. State-dict keys are the official ones
// (<layer>.weight|bias), so checkpoints load in Python with load_state_dict (strict) and the official
// checkpoints load here.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>

#include <string>
#include <vector>

#include "common/models/checkpoint/state_dict.h"

namespace cfm {

enum class MapperKind { Standard, Big };

// "standard" or "big" (UsageError naming the choices otherwise), and back.
MapperKind parse_mapper_kind(const std::string& name);
std::string mapper_kind_name(MapperKind kind);

class MappingNetworkImpl : public torch::nn::Module {
 public:
  MappingNetworkImpl(std::int64_t in_features, std::int64_t out_features,
                     MapperKind kind = MapperKind::Standard);
  at::Tensor forward(const at::Tensor& x);

  std::int64_t in_features() const { return in_; }
  std::int64_t out_features() const { return out_; }
  std::int64_t hidden_features() const { return (in_ + out_) / 2; }
  MapperKind kind() const { return kind_; }

  StateDict state() const;
  // Strict: every key present with the right shape, or a FormatError naming `path` and listing the problems
  // (a checkpoint of the other kind says which --mapper it needs).
  void load_state(const StateDict& weights, const std::string& path);

 private:
  std::int64_t in_, out_;
  MapperKind kind_;
  std::vector<std::pair<std::string, torch::nn::Linear>> layers_;  // in order; GELU after all but the last
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
                               std::uint64_t seed = 115, MapperKind kind = MapperKind::Standard);
// Reads a state-dict file (.pth or .safetensors) and builds a network of `kind` and the sizes it holds.
MappingNetwork load_mapping_network(const std::string& path, MapperKind kind = MapperKind::Standard);

}  // namespace cfm
