// Scaled dot-product attention of the two backbones' transformer blocks: softmax(q k^T * scale) v over
// every (batch, head), as the official code computes it (scores = q k^T, times the scale, softmax over
// the keys, times v), with one change that leaves every value as it was: when the scale is a power of
// two (head_dim 64: 1/8) q is scaled instead of the n x n scores -- the same products with shifted
// exponents, n / head_dim times fewer multiplications.
// Other devices batch every (image, head) pair in one call (transformer_block.h). The CPU blocks run one
// pair per task through scaled_dot_product_attention_into, which writes the pair's result in place.
#pragma once

#include <ATen/core/Tensor.h>

namespace cfm {

// q, k: (..., n, d) and (..., m, d); v: (..., m, e) with the same leading dimensions. Returns
// (..., n, e).
at::Tensor scaled_dot_product_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                        double scale);

// One (image, head) pair on the CPU, float32, without autograd, written into out: q (n x d), k (m x d),
// v (m x e) and out (n x e) are matrices whose rows may be strided (column slices of a qkv product, of
// the attended rows); q is not copied. The n x m scores are scaled and softmaxed in place by LibTorch.
// The same floats as scaled_dot_product_attention.
void scaled_dot_product_attention_into(at::Tensor out, const at::Tensor& q, const at::Tensor& k,
                                       const at::Tensor& v, double scale);

}  // namespace cfm
