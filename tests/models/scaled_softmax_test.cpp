#include "common/models/scaled_softmax.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <vector>

#include "common/util/error.h"

namespace cfm {
namespace {

std::vector<SimdLevel> levels_here() {
  std::vector<SimdLevel> levels;
  for (SimdLevel level : {SimdLevel::Avx2, SimdLevel::Avx512})
    if (simd_level_available(level)) levels.push_back(level);
  return levels;
}

// rows x cols scores inside a wider matrix (row stride cols + 3) whose 3 extra columns hold a sentinel.
at::Tensor padded_scores(std::int64_t rows, std::int64_t cols, double spread, std::uint64_t seed) {
  torch::manual_seed(seed);
  at::Tensor padded = torch::full({rows, cols + 3}, 42.f);
  padded.slice(1, 0, cols).copy_(torch::randn({rows, cols}) * spread);
  return padded;
}

at::Tensor run(SimdLevel level, const at::Tensor& padded, std::int64_t cols, float scale) {
  at::Tensor out = padded.clone();
  scaled_softmax_rows(out.data_ptr<float>(), out.size(0), cols, out.stride(0), scale, level);
  return out;
}

TEST(ScaledSoftmax, EveryLevelOfThisCpuIsLibTorchsSoftmaxOfTheScaledScoresAndTouchesOnlyItsColumns) {
  if (levels_here().empty()) GTEST_SKIP() << "no softmax kernel in this build (Sleef, x86-64) or CPU";
  // 785 keys (ViT-B/8), 1024 (Point-MAE), a row shorter than one vector and one with a tail.
  for (std::int64_t cols : {785, 1024, 5, 37}) {
    for (float scale : {0.125f, static_cast<float>(1.0 / std::sqrt(48.0))}) {
      at::Tensor padded = padded_scores(9, cols, 8.0, static_cast<std::uint64_t>(cols));
      at::Tensor expected = torch::softmax(padded.slice(1, 0, cols) * scale, -1);
      bool some_level_exact = false;
      for (SimdLevel level : levels_here()) {
        SCOPED_TRACE(simd_level_name(level) + ", " + std::to_string(cols) + " columns, scale " +
                     std::to_string(scale));
        at::Tensor got = run(level, padded, cols, scale);
        EXPECT_TRUE(torch::equal(got.slice(1, cols), padded.slice(1, cols)));  // the sentinels
        at::Tensor rows = got.slice(1, 0, cols);
        // Float rounding at most: the levels differ from LibTorch's kernel only in the sum's lane count.
        EXPECT_LE((rows - expected).abs().max().item<float>(), 2e-7f);
        some_level_exact = some_level_exact || torch::equal(rows, expected);
      }
      // LibTorch's x86 softmax is one of these kernels (AVX2 by default): same steps, same floats.
      if (simd_level_available(SimdLevel::Avx2)) {
        EXPECT_TRUE(some_level_exact) << cols << " columns";
      }
    }
  }
}

TEST(ScaledSoftmax, LargeScoresStayFiniteAndEachRowSumsToOne) {
  if (levels_here().empty()) GTEST_SKIP() << "no softmax kernel in this build (Sleef, x86-64) or CPU";
  at::Tensor padded = padded_scores(4, 300, 1e4, 7);  // exp of the unshifted scores would overflow
  for (SimdLevel level : levels_here()) {
    SCOPED_TRACE(simd_level_name(level));
    at::Tensor rows = run(level, padded, 300, 0.125f).slice(1, 0, 300);
    EXPECT_TRUE(torch::isfinite(rows).all().item<bool>());
    EXPECT_TRUE(torch::allclose(rows.sum(1), torch::ones({4}), 0, 1e-6));
    EXPECT_TRUE(torch::equal(rows.argmax(1), padded.slice(1, 0, 300).argmax(1)));
  }
}

TEST(ScaledSoftmax, TheBestLevelIsTheWidestAvailableAndAnUnavailableOneIsRefused) {
  EXPECT_FALSE(simd_level_available(SimdLevel::None));
  const std::vector<SimdLevel> levels = levels_here();
  EXPECT_EQ(best_simd_level(), levels.empty() ? SimdLevel::None : levels.back());
  float row[3] = {1.f, 2.f, 3.f};
  EXPECT_THROW(scaled_softmax_rows(row, 1, 3, 3, 1.f, SimdLevel::None), UsageError);
}

}  // namespace
}  // namespace cfm
