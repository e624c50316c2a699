#include "common/features/random_backbones.h"

#include <fmt/format.h>
#include <torch/torch.h>

#include <filesystem>

#include "common/models/checkpoint/state_dict.h"
#include "common/util/error.h"

namespace cfm {
namespace {

// timm-style initialisation: weights ~ N(0, std) truncated at 2 std, biases 0, norms 1/0.
at::Tensor normal(std::vector<std::int64_t> shape, double std) {
  return torch::randn(shape).clamp(-2, 2) * std;
}

void linear(StateDict& w, const std::string& name, std::int64_t out, std::int64_t in, bool bias = true) {
  w[name + ".weight"] = normal({out, in}, 1.0 / std::sqrt(static_cast<double>(in)));
  if (bias) w[name + ".bias"] = normal({out}, 0.02);
}

void norm(StateDict& w, const std::string& name, std::int64_t dim) {
  w[name + ".weight"] = 1 + normal({dim}, 0.05);
  w[name + ".bias"] = normal({dim}, 0.05);
}

void transformer_block(StateDict& w, const std::string& b, std::int64_t dim, std::int64_t mlp,
                       bool qkv_bias) {
  norm(w, b + "norm1", dim);
  linear(w, b + "attn.qkv", 3 * dim, dim, qkv_bias);
  linear(w, b + "attn.proj", dim, dim);
  norm(w, b + "norm2", dim);
  linear(w, b + "mlp.fc1", mlp, dim);
  linear(w, b + "mlp.fc2", dim, mlp);
}

void batch_norm(StateDict& w, const std::string& name, std::int64_t channels) {
  norm(w, name, channels);
  w[name + ".running_mean"] = normal({channels}, 0.1);
  w[name + ".running_var"] = 1 + torch::rand({channels});
  w[name + ".num_batches_tracked"] = torch::tensor(1000, torch::kInt64);
}

StateDict random_vit(const BackboneShapes& s) {
  StateDict w;
  std::int64_t d = s.vit_dim, tokens = (s.image_size / s.patch) * (s.image_size / s.patch) + 1;
  w["cls_token"] = normal({1, 1, d}, 0.5);
  w["pos_embed"] = normal({1, tokens, d}, 0.5);
  w["patch_embed.proj.weight"] = normal({d, 3, s.patch, s.patch}, 1.0 / std::sqrt(3.0 * s.patch * s.patch));
  w["patch_embed.proj.bias"] = normal({d}, 0.02);
  for (int i = 0; i < s.vit_depth; ++i)
    transformer_block(w, fmt::format("blocks.{}.", i), d, s.vit_mlp, true);
  norm(w, "norm", d);
  return w;
}

// Neighbourhoods of k points (offsets from their centre, B x 3 x k, metres) on smooth random surfaces
// sampled like an organised scan at 224 x 224 of a ~10 cm object: ~0.6 mm between points, a tilt, and
// bumps of a few millimetres.
at::Tensor surface_neighbourhoods(int k) {
  constexpr int kSide = 64, kSurfaces = 4, kCentres = 64;
  constexpr double kSpacing = 0.6e-3;
  std::vector<at::Tensor> parts;
  for (int surface = 0; surface < kSurfaces; ++surface) {
    at::Tensor axis = torch::arange(kSide, torch::kFloat32) * kSpacing;
    std::vector<at::Tensor> mesh = torch::meshgrid({axis, axis}, "ij");
    at::Tensor x = mesh[1].reshape(-1), y = mesh[0].reshape(-1);
    at::Tensor z = 0.5 + (torch::rand({2}) - 0.5)[0] * x + (torch::rand({2}) - 0.5)[1] * y;
    for (int bump = 0; bump < 3; ++bump) {
      at::Tensor centre = torch::rand({2}) * kSide * kSpacing, width = 2e-3 + torch::rand({1}) * 6e-3;
      at::Tensor d2 = (x - centre[0]).pow(2) + (y - centre[1]).pow(2);
      z = z + torch::randn({1}) * 2e-3 * torch::exp(-d2 / (2 * width * width));
    }
    at::Tensor points = torch::stack({x, y, z}, 1);  // N x 3
    at::Tensor centres = points.index_select(0, torch::randint(points.size(0), {kCentres}, torch::kInt64));
    at::Tensor nearest = std::get<1>(torch::cdist(centres, points).topk(k, 1, /*largest=*/false));  // B x k
    parts.push_back((points.index({nearest}) - centres.unsqueeze(1)).transpose(1, 2));
  }
  return torch::cat(parts, 0);
}

// Sets the encoder's BatchNorm running statistics to the batch statistics of `neighbourhoods`, layer by
// layer, as the encoder computes them (conv - BN - ReLU - conv - max, concat, conv - BN - ReLU - conv).
void calibrate_batch_norms(StateDict& w, const std::string& encoder, const at::Tensor& neighbourhoods) {
  torch::NoGradGuard no_grad;
  auto conv = [&](const at::Tensor& x, const std::string& name) {
    return torch::conv1d(x, w[encoder + name + ".weight"], w[encoder + name + ".bias"]);
  };
  auto normalise = [&](const at::Tensor& x, const std::string& name) {
    const std::string bn = encoder + name;
    const std::vector<std::int64_t> batch_and_points = {0, 2};
    w[bn + ".running_mean"] = x.mean(batch_and_points);
    w[bn + ".running_var"] = x.var(batch_and_points, /*unbiased=*/true);
    return torch::relu(torch::batch_norm(x, w[bn + ".weight"], w[bn + ".bias"], w[bn + ".running_mean"],
                                         w[bn + ".running_var"],
                                         /*training=*/false, 0.1, 1e-5, /*cudnn_enabled=*/false));
  };
  at::Tensor f = conv(normalise(conv(neighbourhoods, "first_conv.0"), "first_conv.1"), "first_conv.3");
  at::Tensor global = std::get<0>(f.max(2, /*keepdim=*/true)).expand_as(f);
  normalise(conv(torch::cat({global, f}, 1), "second_conv.0"), "second_conv.1");
}

StateDict random_point_mae(const BackboneShapes& s) {
  StateDict w;
  const std::string e = "module.MAE_encoder.";
  w[e + "encoder.first_conv.0.weight"] =
      normal({s.pm_c1, 3, 1}, 1.0 / std::sqrt(3.0) / 0.01);  // inputs are ~cm
  w[e + "encoder.first_conv.0.bias"] = normal({s.pm_c1}, 0.02);
  batch_norm(w, e + "encoder.first_conv.1", s.pm_c1);
  w[e + "encoder.first_conv.3.weight"] =
      normal({s.pm_c2, s.pm_c1, 1}, 1.0 / std::sqrt(static_cast<double>(s.pm_c1)));
  w[e + "encoder.first_conv.3.bias"] = normal({s.pm_c2}, 0.02);
  w[e + "encoder.second_conv.0.weight"] = normal({s.pm_c3, 2 * s.pm_c2, 1}, 1.0 / std::sqrt(2.0 * s.pm_c2));
  w[e + "encoder.second_conv.0.bias"] = normal({s.pm_c3}, 0.02);
  batch_norm(w, e + "encoder.second_conv.1", s.pm_c3);
  w[e + "encoder.second_conv.3.weight"] =
      normal({s.pm_dim, s.pm_c3, 1}, 1.0 / std::sqrt(static_cast<double>(s.pm_c3)));
  w[e + "encoder.second_conv.3.bias"] = normal({s.pm_dim}, 0.02);
  w[e + "pos_embed.0.weight"] =
      normal({s.pm_pos_hidden, 3}, 1.0 / std::sqrt(3.0));  // metres in: positions barely vary
  w[e + "pos_embed.0.bias"] = normal({s.pm_pos_hidden}, 0.5);
  linear(w, e + "pos_embed.2", s.pm_dim, s.pm_pos_hidden);
  for (int i = 0; i < s.pm_depth; ++i)
    transformer_block(w, fmt::format("{}blocks.blocks.{}.", e, i), s.pm_dim, s.pm_mlp, false);
  norm(w, e + "norm", s.pm_dim);
  calibrate_batch_norms(w, e + "encoder.", surface_neighbourhoods(s.pm_group_size));
  // Pre-training leftovers that real checkpoints carry and the encoder ignores.
  w["module.mask_token"] = torch::zeros({1, 1, s.pm_dim});
  linear(w, "module.MAE_decoder.blocks.0.mlp.fc1", s.pm_mlp, s.pm_dim);
  linear(w, "module.decoder_pos_embed.0", s.pm_pos_hidden, 3);
  w["module.increase_dim.0.weight"] = normal({96, s.pm_dim, 1}, 0.02);
  return w;
}

}  // namespace

BackboneShapes backbone_shapes(const std::string& preset) {
  if (preset == "paper") return {768, 12, 3072, 8, 224, 384, 12, 1536, 128, 256, 512, 128, 128};
  if (preset == "demo") return {64, 4, 256, 8, 224, 64, 4, 256, 32, 64, 128, 32, 32};
  if (preset == "tiny") return {32, 4, 64, 8, 112, 32, 4, 64, 16, 32, 64, 16, 16};
  throw UsageError("unknown backbone shape preset '" + preset + "' (known: paper, demo, tiny)");
}

RandomBackboneFiles write_random_backbones(const std::string& dir, const std::string& preset,
                                           std::uint64_t seed) {
  BackboneShapes shapes = backbone_shapes(preset);
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  if (error) throw IoError(dir, "cannot create folder: " + error.message());
  torch::manual_seed(seed);
  RandomBackboneFiles files{(std::filesystem::path(dir) / ("vit_" + preset + "_random.pth")).string(),
                            (std::filesystem::path(dir) / ("pointmae_" + preset + "_random.pth")).string()};
  write_torch_checkpoint(files.vit, {{"", random_vit(shapes)}});
  write_torch_checkpoint(files.point_mae, {{"base_model", random_point_mae(shapes)}});
  return files;
}

}  // namespace cfm
