#include "common/models/point_mae.h"

#include <fmt/format.h>
#include <torch/torch.h>

#include <cmath>

#include "common/models/point_sampling.h"
#include "common/models/row_steps.h"
#include "common/models/transformer_block.h"
#include "common/models/weight_check.h"
#include "common/runtime/device_code.h"
#include "common/runtime/precision.h"
#include "common/runtime/thread_policy.h"
#include "common/util/error.h"

namespace cfm {
namespace {

const char* const kModel = "Point-MAE encoder";
constexpr int kOfficialDepth = 12;  // DropPath rates are spread over the configured 12 blocks

// Each cloud's centres (farthest point sampling over all clouds at once) and its neighbourhoods, k nearest
// points minus their centre (docs/method.md §3.4 steps 1-3): geometry, in float32 under any precision.
struct Grouped {
  std::vector<PointFeatures> clouds;       // centres and centre_index filled
  std::vector<at::Tensor> neighbourhoods;  // G x k x 3 each
};
Grouped group(const std::vector<at::Tensor>& clouds, int groups, int group_size,
              std::int64_t distances_per_chunk) {
  FullPrecision geometry;
  const std::vector<at::Tensor> chosen = farthest_point_samples(clouds, groups);
  Grouped out;
  for (std::size_t i = 0; i < clouds.size(); ++i) {
    const at::Tensor& points = clouds[i];
    PointFeatures& cloud = out.clouds.emplace_back();
    cloud.centre_index = chosen[i];
    cloud.centres = points.index_select(0, chosen[i]);
    const std::int64_t centres_per_chunk = std::max<std::int64_t>(1, distances_per_chunk / points.size(0));
    at::Tensor neighbours = k_nearest_points(points, cloud.centres, group_size, centres_per_chunk);
    out.neighbourhoods.push_back(points.index({neighbours}) - cloud.centres.unsqueeze(1));
  }
  return out;
}

}  // namespace

StateDict normalise_point_mae_keys(const StateDict& weights) {
  StateDict source = sub_dict(weights, "base_model");  // only 'base_model' is used (§3.5)
  if (source.empty()) source = weights;
  StateDict out;
  for (const auto& [key, tensor] : source) {
    std::string k = remove_all(key, "module.");
    for (const char* prefix : {"MAE_encoder.", "base_model."})
      if (k.rfind(prefix, 0) == 0) k = k.substr(std::string(prefix).size());
    out[k] = tensor;
  }
  return out;
}

PointMaeBackbone::PointMaeBackbone(const StateDict& raw, const PointMaeConfig& config, int layers_kept,
                                   BackboneMode mode, const std::string& path)
    : weights_(normalise_point_mae_keys(raw)),
      config_(config),
      layers_kept_(layers_kept),
      mode_(mode),
      fetch_(point_mae_fetch_layers(layers_kept)) {
  const std::int64_t c1 = required_tensor(weights_, "encoder.first_conv.0.weight", path, kModel).size(0);
  const std::int64_t c2 = required_tensor(weights_, "encoder.first_conv.3.weight", path, kModel).size(0);
  const std::int64_t c3 = required_tensor(weights_, "encoder.second_conv.0.weight", path, kModel).size(0);
  const std::int64_t d = required_tensor(weights_, "encoder.second_conv.3.weight", path, kModel).size(0);
  const std::int64_t pos_hidden = required_tensor(weights_, "pos_embed.0.weight", path, kModel).size(0);
  const std::int64_t hidden =
      required_tensor(weights_, "blocks.blocks.0.mlp.fc1.weight", path, kModel).size(0);
  width_ = static_cast<int>(d);
  while (weights_.count(fmt::format("blocks.blocks.{}.norm1.weight", depth_in_file_))) ++depth_in_file_;
  if (layers_kept < 1 || layers_kept > depth_in_file_)
    throw FormatError(path, fmt::format("cannot keep {} Point-MAE blocks: the weights hold {}", layers_kept,
                                        depth_in_file_));
  if (d % config.heads != 0)
    throw UsageError(fmt::format("Point-MAE width {} is not divisible by {} heads", d, config.heads));
  std::vector<ExpectedTensor> expected = {{"encoder.first_conv.0.weight", {c1, 3, 1}},
                                          {"encoder.first_conv.0.bias", {c1}},
                                          {"encoder.first_conv.3.weight", {c2, c1, 1}},
                                          {"encoder.first_conv.3.bias", {c2}},
                                          {"encoder.second_conv.0.weight", {c3, 2 * c2, 1}},
                                          {"encoder.second_conv.0.bias", {c3}},
                                          {"encoder.second_conv.3.weight", {d, c3, 1}},
                                          {"encoder.second_conv.3.bias", {d}},
                                          {"pos_embed.0.weight", {pos_hidden, 3}},
                                          {"pos_embed.0.bias", {pos_hidden}},
                                          {"pos_embed.2.weight", {d, pos_hidden}},
                                          {"pos_embed.2.bias", {d}},
                                          {"norm.weight", {d}},
                                          {"norm.bias", {d}}};
  for (auto [prefix, channels] :
       {std::pair<std::string, std::int64_t>{"encoder.first_conv.1.", c1}, {"encoder.second_conv.1.", c3}})
    for (const char* n : {"weight", "bias", "running_mean", "running_var"})
      expected.push_back({prefix + n, {channels}});
  for (int i = 0; i < layers_kept; ++i)
    append_transformer_block(expected, fmt::format("blocks.blocks.{}.", i), d, hidden, /*qkv_bias=*/false);
  // Pre-training leftovers the encoder does not use, and blocks removed by pruning.
  std::vector<std::string> allowed = {"encoder.first_conv.1.num_batches_tracked",
                                      "encoder.second_conv.1.num_batches_tracked",
                                      "mask_token",
                                      "decoder_pos_embed.",
                                      "MAE_decoder.",
                                      "increase_dim.",
                                      "cls_token",
                                      "cls_pos",
                                      "reduce_dim.",
                                      "cls_head_finetune.",
                                      "loss_func."};
  for (int i = layers_kept; i < depth_in_file_; ++i) allowed.push_back(fmt::format("blocks.blocks.{}.", i));
  check_weights(weights_, expected, allowed, path, kModel);
  for (auto& [key, tensor] : weights_)
    if (tensor.is_floating_point()) tensor = tensor.to(torch::kFloat32).contiguous();
}

at::Tensor PointMaeBackbone::batch_norm(const at::Tensor& x, const std::string& prefix) const {
  // eval: running statistics. official: statistics of this sample's G*k positions (biased variance),
  // without touching the stored running statistics.
  bool batch_statistics = mode_ == BackboneMode::Official;
  return torch::batch_norm(x.to(torch::kFloat32), w(prefix + "weight"),  // float32 also under bf16
                           w(prefix + "bias"), batch_statistics ? at::Tensor() : w(prefix + "running_mean"),
                           batch_statistics ? at::Tensor() : w(prefix + "running_var"), batch_statistics, 0.1,
                           config_.eps, false);
}

at::Tensor PointMaeBackbone::encode_groups(const at::Tensor& neighbourhoods) const {
  // The mini-PointNet's kernel-1 Conv1d layers are per-point linear maps: run them as matrix products over
  // all G*k points (rows), which is several times faster on CPUs than Conv1d here. BatchNorm over rows
  // has the same statistics as BatchNorm1d over (G, k).
  if (mode_ == BackboneMode::Eval) return encode_groups_folded(neighbourhoods);
  const std::int64_t g = neighbourhoods.size(0), k = neighbourhoods.size(1);
  auto pointwise = [&](const at::Tensor& rows, const std::string& conv) {
    return torch::linear(rows, w(conv + ".weight").squeeze(-1), w(conv + ".bias"));
  };
  at::Tensor f = pointwise(neighbourhoods.reshape({g * k, 3}), "encoder.first_conv.0");
  f = torch::relu(batch_norm(f, "encoder.first_conv.1."));
  f = pointwise(f, "encoder.first_conv.3").view({g, k, -1});  // G x k x c2
  at::Tensor global = std::get<0>(f.max(1, true));
  f = torch::cat({global.expand({-1, k, -1}), f}, 2).view({g * k, -1});  // global first (§3.4 step 4)
  f = torch::relu(batch_norm(pointwise(f, "encoder.second_conv.0"), "encoder.second_conv.1."));
  f = pointwise(f, "encoder.second_conv.3").view({g, k, -1});
  return std::get<0>(f.max(1, false));  // G x C
}

at::Tensor PointMaeBackbone::encode_groups_folded(const at::Tensor& neighbourhoods) const {
  // Eval mode, the same function with less work (equal to rounding, ~1e-7 relative): each BatchNorm's
  // running statistics are folded into the linear map before it (W' = W s, b' = (b - mean) s + beta with
  // s = gamma / sqrt(var + eps)), and the 512-wide layer after the concatenation [global, f] is split into
  // its two halves of columns, W [global; f] = W_g global + W_f f: the global half is computed once per
  // group instead of once per point, and the G*k x 512 concatenation is never built (-34 of 129 GFLOP).
  // Groups are encoded a chunk at a time (the chunks shared out over the intra-op threads): every row is
  // its own computation (per-point maps, then a maximum per group), so chunking changes no value, and it
  // keeps each intermediate near 16 MB instead of G*k x 512 floats (268 MB at G = 1024, k = 128), which the C
  // library maps afresh, and the kernel clears page by page, at every allocation.
  const std::int64_t g = neighbourhoods.size(0), k = neighbourhoods.size(1);
  auto folded = [&](const std::string& conv, const std::string& norm) {
    at::Tensor scale = w(norm + "weight") / torch::sqrt(w(norm + "running_var") + config_.eps);
    at::Tensor weight = w(conv + ".weight").squeeze(-1) * scale.unsqueeze(1);
    at::Tensor bias = (w(conv + ".bias") - w(norm + "running_mean")) * scale + w(norm + "bias");
    return std::make_pair(weight, bias);
  };
  const auto [w1, b1] = folded("encoder.first_conv.0", "encoder.first_conv.1.");
  const auto [w2, b2] = folded("encoder.second_conv.0", "encoder.second_conv.1.");
  const at::Tensor w3 = w("encoder.first_conv.3.weight").squeeze(-1), b3 = w("encoder.first_conv.3.bias");
  const at::Tensor w4 = w("encoder.second_conv.3.weight").squeeze(-1), b4 = w("encoder.second_conv.3.bias");
  const std::int64_t c2 = w3.size(0), widest = w2.size(0);
  const at::Tensor w2_global = w2.slice(1, 0, c2), w2_points = w2.slice(1, c2).contiguous();
  constexpr std::int64_t kChunkBytes = 16 << 20;
  const std::int64_t groups_per_chunk =
      std::max<std::int64_t>(1, kChunkBytes / (k * widest * static_cast<std::int64_t>(sizeof(float))));
  at::Tensor encoded = at::empty({g, w4.size(0)}, neighbourhoods.options());
  for_row_steps(g, groups_per_chunk, [&](std::int64_t start, std::int64_t stop) {
    const at::Tensor part = neighbourhoods.slice(0, start, stop);
    const std::int64_t n = part.size(0);
    at::Tensor f = torch::relu(torch::linear(part.reshape({n * k, 3}), w1, b1));
    f = torch::linear(f, w3, b3);
    at::Tensor global = std::get<0>(f.view({n, k, c2}).max(1, false));  // n x c2
    at::Tensor per_group = torch::linear(global, w2_global, b2);        // global first (§3.4 step 4)
    f = torch::linear(f, w2_points).view({n, k, -1}).add_(per_group.unsqueeze(1)).relu_();
    f = torch::linear(f.view({n * k, -1}), w4, b4);
    encoded.slice(0, start, stop).copy_(std::get<0>(f.view({n, k, -1}).max(1, false)));  // n x C
  });
  return encoded;
}

at::Tensor PointMaeBackbone::block(const at::Tensor& x, int i, at::Generator& generator) const {
  DropPathMasks drop;
  const double rate = config_.drop_path_rate * i / (kOfficialDepth - 1);
  if (mode_ == BackboneMode::Official && rate > 0) {
    // timm drop_path with a batch of one keeps or drops the whole branch. Drawn on the CPU generator
    // whatever the device, so that a GPU run makes the same draws; attention branch first, as the
    // official forward draws them.
    drop.keep = 1.0 - rate;
    auto draw = [&] {
      return (torch::rand({1}, generator, torch::TensorOptions().dtype(x.dtype())) + drop.keep).floor_();
    };
    drop.attention = on_device(draw(), x.device());
    drop.mlp = on_device(draw(), x.device());
  }
  const TransformerBlockWeights weights =
      transformer_block_weights(weights_, fmt::format("blocks.blocks.{}.", i));
  return transformer_block(x, weights, {config_.heads, config_.eps}, drop);
}

PointFeatures PointMaeBackbone::forward(const at::Tensor& points, at::Generator& generator,
                                        std::int64_t centres_per_chunk) const {
  return forward_batch({points}, generator, centres_per_chunk * points.size(0))[0];
}

std::vector<PointFeatures> PointMaeBackbone::forward_batch(const std::vector<at::Tensor>& clouds,
                                                           at::Generator& generator,
                                                           std::int64_t distances_per_chunk) const {
  torch::NoGradGuard no_grad;
  RowParallelThreads cores;  // KNN rows, encoder chunks and the blocks' rows and heads over the cores
  for (const at::Tensor& points : clouds)
    if (points.size(0) < config_.groups || points.size(0) < config_.group_size)
      throw Error(
          fmt::format("point cloud has {} valid points, fewer than G = {} centres or k = {} neighbours",
                      points.size(0), config_.groups, config_.group_size));
  Grouped grouped = group(clouds, config_.groups, config_.group_size, distances_per_chunk);
  std::vector<PointFeatures>& out = grouped.clouds;
  const std::vector<at::Tensor>& neighbourhoods = grouped.neighbourhoods;
  if (mode_ == BackboneMode::Official) {
    // BatchNorm takes each sample's own statistics and DropPath draws per sample in order: one at a time.
    for (std::size_t i = 0; i < clouds.size(); ++i)
      out[i].features =
          encode(encode_groups(neighbourhoods[i]).unsqueeze(0), out[i].centres.unsqueeze(0), generator)[0];
    return std::move(out);
  }
  // Eval mode: every group's encoding and every token of a block is its own computation (per-group maps,
  // then per-sample attention), so the clouds' groups and tokens go through together.
  const auto b = static_cast<std::int64_t>(clouds.size());
  std::vector<at::Tensor> centres;
  for (const PointFeatures& f : out) centres.push_back(f.centres);
  const at::Tensor tokens = encode_groups(torch::cat(neighbourhoods)).view({b, config_.groups, -1});
  const at::Tensor features = encode(tokens, torch::stack(centres), generator);
  for (std::size_t i = 0; i < clouds.size(); ++i) out[i].features = features[static_cast<std::int64_t>(i)];
  return std::move(out);
}

at::Tensor PointMaeBackbone::encode(const at::Tensor& tokens, const at::Tensor& centres,
                                    at::Generator& generator) const {
  at::Tensor x = tokens.to(torch::kFloat32);  // B x G x C; the residual stream stays float32 under bf16
  const at::Tensor pos =
      torch::linear(torch::gelu(torch::linear(centres, w("pos_embed.0.weight"), w("pos_embed.0.bias"))),
                    w("pos_embed.2.weight"), w("pos_embed.2.bias"));
  std::vector<at::Tensor> fetched;
  for (int i = 0; i < layers_kept_; ++i) {
    x = block(x + pos, i, generator);  // position embedding re-added before every block
    if (std::find(fetch_.begin(), fetch_.end(), i) != fetch_.end())
      fetched.push_back(torch::layer_norm(x, {width_}, w("norm.weight"), w("norm.bias"), config_.eps));
  }
  return torch::cat(fetched, 2).transpose(1, 2).contiguous();  // B x C3 x G
}

std::int64_t PointMaeBackbone::parameter_count() const {
  std::int64_t n = 0;
  for (const auto& [key, t] : weights_) {
    bool used =
        key.rfind("encoder.", 0) == 0 || key.rfind("pos_embed.", 0) == 0 || key.rfind("norm.", 0) == 0;
    for (int i = 0; i < layers_kept_; ++i)
      used = used || key.rfind(fmt::format("blocks.blocks.{}.", i), 0) == 0;
    if (used && t.is_floating_point() && key.find("running_") == std::string::npos) n += t.numel();
  }
  return n;
}

void PointMaeBackbone::to(const at::Device& device) {
  for (auto& [key, tensor] : weights_) tensor = tensor.to(device);
}

}  // namespace cfm
