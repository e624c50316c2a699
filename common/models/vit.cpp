#include "common/models/vit.h"

#include <fmt/format.h>
#include <torch/torch.h>

#include "common/models/transformer_block.h"
#include "common/models/weight_check.h"
#include "common/runtime/thread_policy.h"
#include "common/util/error.h"

namespace cfm {
namespace {

const char* const kModel = "ViT (DINO/timm layout)";

}  // namespace

StateDict normalise_vit_keys(const StateDict& weights) {
  StateDict source = weights;
  StateDict teacher = sub_dict(weights, "teacher");  // a full DINO training checkpoint
  if (!teacher.empty()) source = teacher;
  StateDict model = sub_dict(source, "model");  // {'model': state_dict} wrappers
  if (!model.empty()) source = model;
  StateDict out;
  for (const auto& [key, tensor] : source) {
    std::string k = remove_all(key, "module.");
    if (k.rfind("backbone.", 0) == 0) k = k.substr(9);
    out[k] = tensor;
  }
  return out;
}

VitBackbone::VitBackbone(const StateDict& raw, const VitConfig& config, int layers_kept,
                         const std::string& path)
    : weights_(normalise_vit_keys(raw)), config_(config), layers_kept_(layers_kept) {
  const at::Tensor cls = required_tensor(weights_, "cls_token", path, kModel);
  const at::Tensor patch = required_tensor(weights_, "patch_embed.proj.weight", path, kModel);
  const at::Tensor fc1 = required_tensor(weights_, "blocks.0.mlp.fc1.weight", path, kModel);
  if (cls.dim() != 3 || patch.dim() != 4)
    throw FormatError(path, "not a ViT checkpoint: unexpected cls_token / patch_embed shapes");
  dim_ = static_cast<int>(cls.size(2));
  while (weights_.count(fmt::format("blocks.{}.norm1.weight", depth_in_file_))) ++depth_in_file_;
  if (layers_kept < 1 || layers_kept > depth_in_file_)
    throw FormatError(
        path, fmt::format("cannot keep {} ViT blocks: the weights hold {}", layers_kept, depth_in_file_));
  if (dim_ % config.heads != 0)
    throw UsageError(fmt::format("ViT width {} is not divisible by {} heads", dim_, config.heads));
  if (config.image_size % config.patch != 0 || patch.size(2) != config.patch)
    throw FormatError(path, fmt::format("patch size {} in the weights, {} configured (image {})",
                                        patch.size(2), config.patch, config.image_size));
  grid_ = config.image_size / config.patch;
  const std::int64_t d = dim_, hidden = fc1.size(0), tokens = grid_ * grid_ + 1;
  std::vector<ExpectedTensor> expected = {{"cls_token", {1, 1, d}},
                                          {"pos_embed", {1, tokens, d}},
                                          {"patch_embed.proj.weight", {d, 3, config.patch, config.patch}},
                                          {"patch_embed.proj.bias", {d}},
                                          {"norm.weight", {d}},
                                          {"norm.bias", {d}}};
  for (int i = 0; i < layers_kept; ++i)
    append_transformer_block(expected, fmt::format("blocks.{}.", i), d, hidden, /*qkv_bias=*/true);
  std::vector<std::string> allowed = {"head.", "fc_norm."};
  for (int i = layers_kept; i < depth_in_file_; ++i)
    allowed.push_back(fmt::format("blocks.{}.", i));  // pruned away
  check_weights(weights_, expected, allowed, path, kModel);
  for (auto& [key, tensor] : weights_) tensor = tensor.to(torch::kFloat32).contiguous();
}

at::Tensor VitBackbone::block(const at::Tensor& x, int i) const {
  return transformer_block(x, transformer_block_weights(weights_, fmt::format("blocks.{}.", i)),
                           {config_.heads, config_.eps});
}

at::Tensor VitBackbone::forward(const at::Tensor& rgb) const {
  TORCH_CHECK(rgb.dim() == 3, "ViT input must be 3 x ", config_.image_size, " x ", config_.image_size);
  return forward_batch(rgb.unsqueeze(0))[0];
}

at::Tensor VitBackbone::forward_batch(const at::Tensor& rgb) const {
  TORCH_CHECK(rgb.dim() == 4 && rgb.size(1) == 3 && rgb.size(2) == config_.image_size &&
                  rgb.size(3) == config_.image_size,
              "ViT input must be B x 3 x ", config_.image_size, " x ", config_.image_size);
  torch::NoGradGuard no_grad;
  const std::int64_t batch = rgb.size(0);
  const std::vector<std::int64_t> stride = {config_.patch, config_.patch};
  at::Tensor x = torch::conv2d(rgb, w("patch_embed.proj.weight"), w("patch_embed.proj.bias"), stride);
  x = x.flatten(2).transpose(1, 2);  // B x T x C, token t = row * grid + column
  x = torch::cat({w("cls_token").expand({batch, 1, dim_}), x}, 1) + w("pos_embed");
  RowParallelThreads cores;  // the blocks split their rows and heads over the cores
  for (int i = 0; i < layers_kept_; ++i) x = block(x, i);
  x = torch::layer_norm(x, {dim_}, w("norm.weight"), w("norm.bias"), config_.eps);
  return x.slice(1, 1).transpose(1, 2).reshape({batch, dim_, grid_, grid_}).contiguous();
}

std::int64_t VitBackbone::parameter_count() const {
  std::int64_t n = 0;
  for (const auto& [key, t] : weights_) {
    bool unused = false;
    for (int i = layers_kept_; i < depth_in_file_; ++i)
      unused = unused || key.rfind(fmt::format("blocks.{}.", i), 0) == 0;
    if (!unused && key.rfind("head.", 0) != 0) n += t.numel();
  }
  return n;
}

void VitBackbone::to(const at::Device& device) {
  for (auto& [key, tensor] : weights_) tensor = tensor.to(device);
}

}  // namespace cfm
