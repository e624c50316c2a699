#include "common/models/attention.h"

#include <gtest/gtest.h>
#include <torch/torch.h>
#include <torch/version.h>

#include <cmath>

namespace cfm {
namespace {

// The official blocks' expression: scores = q k^T, times the scale, softmax, times v.
at::Tensor official_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, double scale) {
  return torch::matmul(torch::softmax(torch::matmul(q, k.transpose(-2, -1)) * scale, -1), v);
}

// q, k, v as the blocks slice them out of one qkv product: batch x tokens x 3 x heads x head_dim,
// permuted to 3 x batch x heads x tokens x head_dim (strided views, not contiguous).
struct Qkv {
  at::Tensor q, k, v;
};
Qkv qkv_views(std::int64_t batch, std::int64_t heads, std::int64_t tokens, std::int64_t head_dim,
              std::uint64_t seed) {
  torch::manual_seed(seed);
  at::Tensor qkv = torch::randn({batch, tokens, 3, heads, head_dim}).permute({2, 0, 3, 1, 4});
  return {qkv[0], qkv[1], qkv[2]};
}

TEST(Attention, EqualsTheOfficialExpressionForTheViTAndPointMaeShapes) {
  torch::NoGradGuard no_grad;
  // ViT-B/8 at 224: 12 heads of 64 over 785 tokens; scale 1/8 (q is scaled, not the scores).
  Qkv vit = qkv_views(1, 12, 785, 64, 1);
  at::Tensor expected = official_attention(vit.q, vit.k, vit.v, 0.125);
  at::Tensor got = scaled_dot_product_attention(vit.q, vit.k, vit.v, 0.125);
  EXPECT_EQ(got.sizes(), expected.sizes());
  EXPECT_TRUE(torch::equal(got, expected)) << (got - expected).abs().max().item<float>();
  // Point-MAE: no batch dimension, 6 heads of 64 over G = 1024 groups.
  Qkv point = qkv_views(1, 6, 1024, 64, 2);
  at::Tensor q = point.q[0], k = point.k[0], v = point.v[0];
  EXPECT_TRUE(torch::equal(scaled_dot_product_attention(q, k, v, 0.125), official_attention(q, k, v, 0.125)));
}

TEST(Attention, ScalesTheScoresWhenTheScaleIsNotAPowerOfTwoAndKeepsBatchesApart) {
  torch::NoGradGuard no_grad;
  const double scale = 1.0 / std::sqrt(48.0);
  Qkv x = qkv_views(3, 4, 97, 48, 3);
  at::Tensor got = scaled_dot_product_attention(x.q, x.k, x.v, scale);
  EXPECT_TRUE(torch::equal(got, official_attention(x.q, x.k, x.v, scale)));
  // Each (batch, head) attends only to its own keys: changing batch 2's keys leaves batches 0 and 1 alone.
  at::Tensor k = x.k.clone();
  k[2].normal_();
  at::Tensor moved = scaled_dot_product_attention(x.q, k, x.v, scale);
  EXPECT_TRUE(torch::equal(moved.slice(0, 0, 2), got.slice(0, 0, 2)));
  EXPECT_FALSE(torch::equal(moved[2], got[2]));
}

// One pair the way the CPU blocks hold it: q, k and v column slices of one tokens x 3d qkv matrix, the
// result written into a column slice of a wider matrix.
TEST(Attention, TheInPlaceCpuPairIsTheOfficialExpressionWrittenIntoItsColumnsOnly) {
  torch::NoGradGuard no_grad;
  struct Case {
    std::int64_t tokens, head_dim;
    double scale;
  };
  for (const Case& c : {Case{785, 64, 0.125}, Case{1024, 64, 0.125}, Case{97, 48, 1.0 / std::sqrt(48.0)}}) {
    SCOPED_TRACE(std::to_string(c.tokens) + " tokens");
    torch::manual_seed(static_cast<std::uint64_t>(c.tokens));
    const std::int64_t d = c.head_dim;
    at::Tensor qkv = torch::randn({c.tokens, 3 * d + 5});
    at::Tensor q = qkv.slice(1, 0, d), k = qkv.slice(1, d, 2 * d), v = qkv.slice(1, 2 * d, 3 * d);
    const at::Tensor expected = official_attention(q, k, v, c.scale);
    const at::Tensor batched = scaled_dot_product_attention(q, k, v, c.scale);
    at::Tensor attended = torch::full({c.tokens, d + 7}, -3.f);
    scaled_dot_product_attention_into(attended.slice(1, 4, 4 + d), q, k, v, c.scale);
    const at::Tensor got = attended.slice(1, 4, 4 + d);
    EXPECT_LE((got - expected).abs().max().item<float>(), 1e-6f);
    // LibTorch's softmax on the same scores: what the batched attention computes.
    EXPECT_TRUE(torch::equal(got, batched)) << (got - batched).abs().max().item<float>();
    EXPECT_TRUE((attended.slice(1, 0, 4) == -3.f).all().item<bool>());
    EXPECT_TRUE((attended.slice(1, 4 + d) == -3.f).all().item<bool>());
  }
}

TEST(Attention, TheInPlacePairRefusesAutogradAndBatches) {
  at::Tensor q = torch::randn({8, 4}, torch::requires_grad()), k = torch::randn({8, 4}),
             v = torch::randn({8, 4});
  at::Tensor out = torch::empty({8, 4});
  EXPECT_THROW(scaled_dot_product_attention_into(out, q, k, v, 0.5), c10::Error);
  EXPECT_THROW(scaled_dot_product_attention_into(out.unsqueeze(0), q.detach().unsqueeze(0), k.unsqueeze(0),
                                                 v.unsqueeze(0), 0.5),
               c10::Error);
}

}  // namespace
}  // namespace cfm
