#include "common/models/transformer_block.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>

#include "common/runtime/thread_policy.h"

namespace cfm {
namespace {

// Random block weights of a given width (MLP 4x), scaled like a trained block's so that the residual
// stream stays of order one.
TransformerBlockWeights random_block(std::int64_t width, bool qkv_bias, std::uint64_t seed) {
  torch::manual_seed(seed);
  const std::int64_t hidden = 4 * width;
  auto matrix = [](std::int64_t rows, std::int64_t columns) {
    return torch::randn({rows, columns}) / std::sqrt(static_cast<double>(columns));
  };
  auto vector = [](std::int64_t n, double centre) { return centre + 0.1 * torch::randn({n}); };
  return {vector(width, 1),         vector(width, 0),
          matrix(3 * width, width), qkv_bias ? vector(3 * width, 0) : at::Tensor(),
          matrix(width, width),     vector(width, 0),
          vector(width, 1),         vector(width, 0),
          matrix(hidden, width),    vector(hidden, 0),
          matrix(width, hidden),    vector(width, 0)};
}

// max |a - b| / max |b|
double relative_error(const at::Tensor& actual, const at::Tensor& expected) {
  return (actual - expected).abs().max().item<double>() / expected.abs().max().item<double>();
}

// The pools as the backbones run them: two compute threads, and the blocks inside RowParallelThreads.
class TransformerBlockTest : public ::testing::Test {
 protected:
  void SetUp() override { apply_thread_policy(choose_thread_policy(2)); }
  void TearDown() override { apply_thread_policy(choose_thread_policy(1)); }
};

TEST_F(TransformerBlockTest, TheCpuPathEqualsTheBatchedBlockToRounding) {
  torch::NoGradGuard no_grad;
  struct Case {
    std::int64_t batch, tokens, width;
    int heads;
    bool qkv_bias;
  };
  // ViT-like (power-of-two scale, qkv bias, two images), Point-MAE-like (no batch, no qkv bias, head_dim
  // 48: the scores are scaled), and more rows than one step of a thread (1,200 rows).
  for (const Case& c : {Case{2, 37, 128, 2, true}, Case{1, 45, 96, 2, false}, Case{2, 600, 64, 1, true}}) {
    const TransformerBlockWeights w = random_block(c.width, c.qkv_bias, 7);
    const at::Tensor x = torch::randn({c.batch, c.tokens, c.width});
    const at::Tensor expected = transformer_block_batched(x, w, {c.heads, 1e-6});
    for (bool row_parallel : {false, true}) {
      at::Tensor got;
      if (row_parallel) {
        RowParallelThreads cores;
        got = transformer_block(x, w, {c.heads, 1e-6});
      } else {
        got = transformer_block(x, w, {c.heads, 1e-6});
      }
      ASSERT_EQ(got.sizes(), expected.sizes());
      EXPECT_LE(relative_error(got, expected), 2e-6)
          << "width " << c.width << ", heads " << c.heads << ", row-parallel " << row_parallel;
    }
  }
}

TEST_F(TransformerBlockTest, EachImageAndHeadAttendsOnlyToItsOwnTokens) {
  torch::NoGradGuard no_grad;
  const TransformerBlockWeights w = random_block(64, true, 3);
  const at::Tensor x = torch::randn({3, 20, 64});
  RowParallelThreads cores;
  const at::Tensor all = transformer_block(x, w, {2, 1e-6});
  at::Tensor changed = x.clone();
  changed[1].normal_();
  const at::Tensor moved = transformer_block(changed, w, {2, 1e-6});
  EXPECT_LE(relative_error(moved[0], all[0]), 1e-6);
  EXPECT_LE(relative_error(moved[2], all[2]), 1e-6);
  EXPECT_GT(relative_error(moved[1], all[1]), 0.1);
  // Every image alone gives its own rows of the batch.
  for (int i = 0; i < 3; ++i)
    EXPECT_LE(relative_error(transformer_block(x.slice(0, i, i + 1), w, {2, 1e-6})[0], all[i]), 2e-6);
}

TEST_F(TransformerBlockTest, DropPathScalesOrRemovesEachResidualBranch) {
  torch::NoGradGuard no_grad;
  const TransformerBlockWeights w = random_block(64, false, 5);
  const at::Tensor x = torch::randn({1, 30, 64});
  // Both branches dropped: the block is the identity, exactly (x + 0 + 0).
  DropPathMasks none{0.75, torch::zeros({1}), torch::zeros({1})};
  EXPECT_TRUE(torch::equal(transformer_block(x, w, {1, 1e-6}, none), x));
  EXPECT_TRUE(torch::equal(transformer_block_batched(x, w, {1, 1e-6}, none), x));
  // Kept branches are divided by keep: only the attention branch kept, at keep 0.5, equals the block
  // whose attention projection is doubled and whose MLP output is zero.
  DropPathMasks attention_only{0.5, torch::ones({1}), torch::zeros({1})};
  TransformerBlockWeights doubled = w;
  doubled.proj_weight = 2 * w.proj_weight;
  doubled.proj_bias = 2 * w.proj_bias;
  doubled.fc2_weight = torch::zeros_like(w.fc2_weight);
  doubled.fc2_bias = torch::zeros_like(w.fc2_bias);
  const at::Tensor expected = transformer_block_batched(x, doubled, {1, 1e-6});
  EXPECT_LE(relative_error(transformer_block(x, w, {1, 1e-6}, attention_only), expected), 2e-6);
  EXPECT_LE(relative_error(transformer_block_batched(x, w, {1, 1e-6}, attention_only), expected), 2e-6);
}

}  // namespace
}  // namespace cfm
