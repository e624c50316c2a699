#include "common/cfm/mapping_network.h"

#include <fmt/format.h>
#include <torch/torch.h>

#include "common/models/weight_check.h"
#include "common/util/error.h"

namespace cfm {

MappingNetworkImpl::MappingNetworkImpl(std::int64_t in_features, std::int64_t out_features)
    : in_(in_features), out_(out_features) {
  const std::int64_t hidden = (in_features + out_features) / 2;
  input_ = register_module("input", torch::nn::Linear(in_features, hidden));
  projection_ = register_module("projection", torch::nn::Linear(hidden, hidden));
  output_ = register_module("output", torch::nn::Linear(hidden, out_features));
}

at::Tensor MappingNetworkImpl::forward(const at::Tensor& x) {
  at::Tensor h = torch::gelu(input_->forward(x));  // exact GELU, as nn.GELU()
  h = torch::gelu(projection_->forward(h));
  return output_->forward(h);
}

StateDict MappingNetworkImpl::state() const {
  StateDict out;
  for (const auto& item : named_parameters()) out[item.key()] = item.value().detach().cpu().contiguous();
  return out;
}

void MappingNetworkImpl::load_state(const StateDict& weights, const std::string& path) {
  const std::int64_t h = hidden_features();
  check_weights(weights,
                {{"input.weight", {h, in_}},
                 {"input.bias", {h}},
                 {"projection.weight", {h, h}},
                 {"projection.bias", {h}},
                 {"output.weight", {out_, h}},
                 {"output.bias", {out_}}},
                {}, path, fmt::format("mapping network {} -> {}", in_, out_));
  torch::NoGradGuard no_grad;
  for (auto& item : named_parameters()) item.value().copy_(weights.at(item.key()).to(torch::kFloat32));
}

std::string mapping_checkpoint_name(const std::string& direction, const std::string& category, int epochs,
                                    int batch_size) {
  return fmt::format("CFM_{}_{}_{}ep_{}bs.pth", direction, category, epochs, batch_size);
}

CrossmodalMappers make_mappers(std::int64_t rgb_channels, std::int64_t point_channels, std::uint64_t seed) {
  torch::manual_seed(seed);
  return {MappingNetwork(rgb_channels, point_channels), MappingNetwork(point_channels, rgb_channels)};
}

void save_mapping_network(MappingNetwork& network, const std::string& path) {
  write_torch_checkpoint(path, {{"", network->state()}});
}

MappingNetwork load_mapping_network(const std::string& path) {
  StateDict weights = read_checkpoint(path);
  auto in = weights.find("input.weight"), out = weights.find("output.weight");
  if (in == weights.end() || out == weights.end() || in->second.dim() != 2 || out->second.dim() != 2)
    throw FormatError(path, "not a CFM mapping network: no 2-D input.weight / output.weight");
  MappingNetwork network(in->second.size(1), out->second.size(0));
  network->load_state(weights, path);
  return network;
}

}  // namespace cfm
