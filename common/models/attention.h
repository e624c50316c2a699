// Scaled dot-product attention of the two backbones' transformer blocks: softmax(q k^T * scale) v over
// every (batch, head), as the official code computes it (scores = q k^T, times the scale, softmax over
// the keys, times v), with one change that leaves every value as it was: when the scale is a power of
// two (head_dim 64: 1/8) q is scaled instead of the n x n scores -- the same products with shifted
// exponents, n / head_dim times fewer multiplications.
// The CPU blocks call it for one (image, head) pair per task (transformer_block.h); other devices batch
// every pair in one call.
#pragma once

#include <ATen/core/Tensor.h>

namespace cfm {

// q, k: (..., n, d) and (..., m, d); v: (..., m, e) with the same leading dimensions. Returns
// (..., n, e).
at::Tensor scaled_dot_product_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                        double scale);

}  // namespace cfm
