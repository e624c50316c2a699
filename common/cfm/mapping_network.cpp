#include "common/cfm/mapping_network.h"

#include <fmt/format.h>
#include <torch/torch.h>

#include "common/models/weight_check.h"
#include "common/util/error.h"

namespace cfm {
namespace {

// The official layer names of each kind, in order.
std::vector<std::string> layer_names(MapperKind kind) {
  if (kind == MapperKind::Standard) return {"input", "projection", "output"};
  return {"input", "projection_a", "projection_b", "projection_c", "projection_d", "projection_e", "output"};
}

// Which kind a state dict holds, judged by a key only that kind has; the kind asked for when neither.
MapperKind kind_held(const StateDict& weights, MapperKind asked) {
  if (weights.count("projection_a.weight")) return MapperKind::Big;
  if (weights.count("projection.weight")) return MapperKind::Standard;
  return asked;
}

}  // namespace

MapperKind parse_mapper_kind(const std::string& name) {
  if (name == "standard") return MapperKind::Standard;
  if (name == "big") return MapperKind::Big;
  throw UsageError(fmt::format("mapper '{}' is not one of: standard, big", name));
}

std::string mapper_kind_name(MapperKind kind) { return kind == MapperKind::Big ? "big" : "standard"; }

MappingNetworkImpl::MappingNetworkImpl(std::int64_t in_features, std::int64_t out_features, MapperKind kind)
    : in_(in_features), out_(out_features), kind_(kind) {
  const std::int64_t hidden = (in_features + out_features) / 2;
  const std::vector<std::string> names = layer_names(kind);
  // Created in the official order: PyTorch's default initialisation draws from the seeded stream in it.
  for (std::size_t i = 0; i < names.size(); ++i) {
    const std::int64_t in = i == 0 ? in_features : hidden;
    const std::int64_t out = i + 1 == names.size() ? out_features : hidden;
    layers_.emplace_back(names[i], register_module(names[i], torch::nn::Linear(in, out)));
  }
}

at::Tensor MappingNetworkImpl::forward(const at::Tensor& x) {
  at::Tensor h = x;
  for (std::size_t i = 0; i + 1 < layers_.size(); ++i)
    h = torch::gelu(layers_[i].second->forward(h));  // exact GELU, as nn.GELU()
  return layers_.back().second->forward(h);
}

StateDict MappingNetworkImpl::state() const {
  StateDict out;
  for (const auto& item : named_parameters()) out[item.key()] = item.value().detach().cpu().contiguous();
  return out;
}

void MappingNetworkImpl::load_state(const StateDict& weights, const std::string& path) {
  const MapperKind held = kind_held(weights, kind_);
  if (held != kind_)
    throw FormatError(path, held == MapperKind::Big
                                ? "this checkpoint holds projection_a … projection_e (the big mapping "
                                  "network): pass --mapper big (mapper: big in a grid)"
                                : "this checkpoint holds the standard mapping network (one projection "
                                  "layer): pass --mapper standard (mapper: standard in a grid)");
  std::vector<ExpectedTensor> expected;
  for (const auto& [name, layer] : layers_) {
    expected.push_back({name + ".weight", {layer->options.out_features(), layer->options.in_features()}});
    expected.push_back({name + ".bias", {layer->options.out_features()}});
  }
  check_weights(weights, expected, {}, path,
                fmt::format("{} mapping network {} -> {}", mapper_kind_name(kind_), in_, out_));
  torch::NoGradGuard no_grad;
  for (auto& item : named_parameters()) item.value().copy_(weights.at(item.key()).to(torch::kFloat32));
}

std::string mapping_checkpoint_name(const std::string& direction, const std::string& category, int epochs,
                                    int batch_size) {
  return fmt::format("CFM_{}_{}_{}ep_{}bs.pth", direction, category, epochs, batch_size);
}

CrossmodalMappers make_mappers(std::int64_t rgb_channels, std::int64_t point_channels, std::uint64_t seed,
                               MapperKind kind) {
  torch::manual_seed(seed);
  return {MappingNetwork(rgb_channels, point_channels, kind),
          MappingNetwork(point_channels, rgb_channels, kind)};
}

void save_mapping_network(MappingNetwork& network, const std::string& path) {
  write_torch_checkpoint(path, {{"", network->state()}});
}

MappingNetwork load_mapping_network(const std::string& path, MapperKind kind) {
  StateDict weights = read_checkpoint(path);
  auto in = weights.find("input.weight"), out = weights.find("output.weight");
  if (in == weights.end() || out == weights.end() || in->second.dim() != 2 || out->second.dim() != 2)
    throw FormatError(path, "not a CFM mapping network: no 2-D input.weight / output.weight");
  MappingNetwork network(in->second.size(1), out->second.size(0), kind);
  network->load_state(weights, path);
  return network;
}

}  // namespace cfm
