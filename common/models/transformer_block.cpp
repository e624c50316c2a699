#include "common/models/transformer_block.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>

#include "common/models/attention.h"
#include "common/models/row_steps.h"
#include "common/runtime/device_code.h"
#include "common/runtime/precision.h"

namespace cfm {
namespace {

// Rows per step of a thread's token-wise work: a thread's share of a batch of images is done in steps so
// that its MLP activation stays near 6 MB (512 x 3072 floats) instead of growing with the batch.
constexpr std::int64_t kRowsPerStep = 512;

at::Tensor drop_path(const at::Tensor& branch, const DropPathMasks& drop, const at::Tensor& mask) {
  return mask.defined() ? branch.div(drop.keep) * mask : branch;
}

// out = input weight^T (+ bias), written in place: what torch::linear computes, into a slice of rows.
void linear_into(at::Tensor out, const at::Tensor& input, const at::Tensor& weight, const at::Tensor& bias) {
  if (bias.defined()) {
    at::addmm_out(out, bias, input, weight.t());
  } else {
    at::mm_out(out, input, weight.t());
  }
}

double attention_scale(std::int64_t head_dim) { return 1.0 / std::sqrt(static_cast<double>(head_dim)); }

}  // namespace

TransformerBlockWeights transformer_block_weights(const StateDict& weights, const std::string& prefix) {
  auto w = [&](const std::string& name) { return weights.at(prefix + name); };
  auto qkv_bias = weights.find(prefix + "attn.qkv.bias");
  return {w("norm1.weight"),     w("norm1.bias"),
          w("attn.qkv.weight"),  qkv_bias == weights.end() ? at::Tensor() : qkv_bias->second,
          w("attn.proj.weight"), w("attn.proj.bias"),
          w("norm2.weight"),     w("norm2.bias"),
          w("mlp.fc1.weight"),   w("mlp.fc1.bias"),
          w("mlp.fc2.weight"),   w("mlp.fc2.bias")};
}

at::Tensor transformer_block(const at::Tensor& x, const TransformerBlockWeights& w,
                             const TransformerBlockShape& shape, const DropPathMasks& drop) {
  // The CPU path's in-place products are out of autocast's reach: under bf16 the batched block runs.
  if (!runs_cpu_loop(x) || lowers_precision(x.device())) return transformer_block_batched(x, w, shape, drop);
  const std::int64_t batch = x.size(0), tokens = x.size(1), width = x.size(2), rows = batch * tokens;
  const std::int64_t heads = shape.heads, head_dim = width / heads;
  const at::Tensor input = x.reshape({rows, width}).contiguous();
  at::Tensor qkv = at::empty({rows, 3 * width}, input.options());
  at::Tensor attended = at::empty({rows, width}, input.options());
  at::Tensor out = at::empty({rows, width}, input.options());
  for_row_steps(rows, kRowsPerStep, [&](std::int64_t first, std::int64_t last) {
    at::Tensor h =
        torch::layer_norm(input.slice(0, first, last), {width}, w.norm1_weight, w.norm1_bias, shape.eps);
    linear_into(qkv.slice(0, first, last), h, w.qkv_weight, w.qkv_bias);
  });
  // One (image, head) pair per task: its q, k and v are column slices of the image's qkv rows.
  at::parallel_for(0, batch * heads, 1, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t pair = begin; pair < end; ++pair) {
      const std::int64_t image = pair / heads, head = pair % heads;
      const at::Tensor image_qkv = qkv.slice(0, image * tokens, (image + 1) * tokens);
      auto part = [&](std::int64_t which) {
        const std::int64_t column = which * width + head * head_dim;
        return image_qkv.slice(1, column, column + head_dim);
      };
      scaled_dot_product_attention_into(attended.slice(0, image * tokens, (image + 1) * tokens)
                                            .slice(1, head * head_dim, (head + 1) * head_dim),
                                        part(0), part(1), part(2), attention_scale(head_dim));
    }
  });
  for_row_steps(rows, kRowsPerStep, [&](std::int64_t first, std::int64_t last) {
    // In place where the batched block makes a new tensor (the same values: a + b == b + a), so that the
    // step's activations are written where they already are in the cache.
    at::Tensor y = drop_path(torch::linear(attended.slice(0, first, last), w.proj_weight, w.proj_bias), drop,
                             drop.attention)
                       .add_(input.slice(0, first, last));
    at::Tensor h = torch::layer_norm(y, {width}, w.norm2_weight, w.norm2_bias, shape.eps);
    h = torch::linear(h, w.fc1_weight, w.fc1_bias);
    at::gelu_(h);
    at::Tensor rows_out = out.slice(0, first, last);
    at::add_out(rows_out, y, drop_path(torch::linear(h, w.fc2_weight, w.fc2_bias), drop, drop.mlp));
  });
  return out.view({batch, tokens, width});
}

at::Tensor transformer_block_batched(const at::Tensor& x, const TransformerBlockWeights& w,
                                     const TransformerBlockShape& shape, const DropPathMasks& drop) {
  const std::int64_t batch = x.size(0), tokens = x.size(1), width = x.size(2);
  const std::int64_t heads = shape.heads, head_dim = width / heads;
  at::Tensor h = torch::layer_norm(x, {width}, w.norm1_weight, w.norm1_bias, shape.eps);
  at::Tensor qkv = torch::linear(h, w.qkv_weight, w.qkv_bias)
                       .reshape({batch, tokens, 3, heads, head_dim})
                       .permute({2, 0, 3, 1, 4});
  at::Tensor attended = scaled_dot_product_attention(qkv[0], qkv[1], qkv[2], attention_scale(head_dim))
                            .transpose(1, 2)
                            .reshape({batch, tokens, width});
  at::Tensor y = x + drop_path(torch::linear(attended, w.proj_weight, w.proj_bias), drop, drop.attention);
  h = torch::layer_norm(y, {width}, w.norm2_weight, w.norm2_bias, shape.eps);
  h = torch::gelu(torch::linear(h, w.fc1_weight, w.fc1_bias));
  return y + drop_path(torch::linear(h, w.fc2_weight, w.fc2_bias), drop, drop.mlp);
}

}  // namespace cfm
