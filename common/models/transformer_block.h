// The pre-norm transformer block of both backbones (timm's Block; docs/method.md §3.2 and §3.6):
//   y = x + drop(proj(attention(qkv(norm1(x)))))      out = y + drop(fc2(gelu(fc1(norm2(y)))))
// On the CPU the token-wise layers run on chunks of rows and the attention one (image, head) pair at a
// time, each chunk an at::parallel_for task: inside RowParallelThreads (thread_policy.h) every core runs
// its own single-threaded products and the softmax, GELU and layer norms run on all cores; on other
// devices, one batched product per layer. Both give the official values to float rounding (products
// split differently: OpenBLAS' sums already differ with its thread count).
#pragma once

#include <ATen/core/Tensor.h>

#include <string>

#include "common/models/checkpoint/state_dict.h"

namespace cfm {

struct TransformerBlockWeights {
  at::Tensor norm1_weight, norm1_bias, qkv_weight, qkv_bias,  // qkv_bias undefined: none (Point-MAE)
      proj_weight, proj_bias, norm2_weight, norm2_bias, fc1_weight, fc1_bias, fc2_weight, fc2_bias;
};

// The block under `prefix` ("blocks.3."), keys as append_transformer_block (weight_check.h) checks them.
TransformerBlockWeights transformer_block_weights(const StateDict& weights, const std::string& prefix);

struct TransformerBlockShape {
  int heads = 1;
  double eps = 1e-6;  // the layer norms'
};

// timm's DropPath on a batch of one (Point-MAE's official mode): each residual branch becomes
// branch / keep * mask, with a 0-or-1 mask drawn per branch. Undefined masks: no DropPath.
struct DropPathMasks {
  double keep = 1.0;
  at::Tensor attention, mlp;
};

// x: batch x tokens x width -> the same shape.
at::Tensor transformer_block(const at::Tensor& x, const TransformerBlockWeights& weights,
                             const TransformerBlockShape& shape, const DropPathMasks& drop = {});

// The same block as one batched product per layer: what other devices run, and the reference the CPU
// path is tested against.
at::Tensor transformer_block_batched(const at::Tensor& x, const TransformerBlockWeights& weights,
                                     const TransformerBlockShape& shape, const DropPathMasks& drop = {});

}  // namespace cfm
