// The memory-bank method's pieces against independent computations: the Johnson-Lindenstrauss dimension
// against scikit-learn's documented value, the projection's distribution, greedy k-center and nearest
// neighbours against brute-force loops in double precision, the re-weighting and the blur against values
// derived by hand, and both bank recipes' statistics and coreset sizes.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "common/memory_bank/coreset.h"
#include "common/memory_bank/memory_bank_method.h"
#include "common/memory_bank/patch_scoring.h"
#include "common/models/checkpoint/state_dict.h"
#include "common/util/error.h"
#include "synthetic_category.h"
#include "test_support.h"

namespace cfm {
namespace {

double distance(const at::Tensor& rows, std::int64_t a, const at::Tensor& other, std::int64_t b) {
  double sum = 0;
  for (std::int64_t k = 0; k < rows.size(1); ++k) {
    double d = rows[a][k].item<double>() - other[b][k].item<double>();
    sum += d * d;
  }
  return std::sqrt(sum);
}

TEST(Coreset, JohnsonLindenstraussDimensionIsScikitLearns) {
  EXPECT_EQ(johnson_lindenstrauss_dim(1000000, 0.5), 663);  // sklearn's docstring example
  EXPECT_EQ(johnson_lindenstrauss_dim(1000, 0.9), 170);     // floor(4 ln 1000 / 0.162) = floor(170.56)
  EXPECT_EQ(johnson_lindenstrauss_dim(1, 0.9), 0);
}

TEST(Coreset, SparseProjectionHasTheDensityAndValuesOfScikitLearns) {
  const std::int64_t features = 400, components = 300;  // density 1/20
  at::Tensor p = sparse_random_projection(features, components, 7);
  ASSERT_EQ(p.sizes(), (std::vector<std::int64_t>{features, components}));
  const double scale = std::sqrt(20.0) / std::sqrt(300.0);
  at::Tensor nonzero = p.abs() > 0;
  EXPECT_TRUE(torch::allclose(p.abs().masked_select(nonzero), torch::full({1}, scale, torch::kFloat32)));
  const double fraction = nonzero.to(torch::kFloat64).mean().item<double>();
  EXPECT_NEAR(fraction, 0.05, 0.005);  // 120,000 draws: the standard error is 0.0006
  EXPECT_NEAR((p > 0).to(torch::kFloat64).mean().item<double>(), 0.025, 0.003);
  EXPECT_TRUE(torch::equal(p, sparse_random_projection(features, components, 7)));
  EXPECT_FALSE(torch::equal(p, sparse_random_projection(features, components, 8)));
}

TEST(Coreset, GreedyKCenterEqualsBruteForce) {
  torch::manual_seed(3);
  at::Tensor rows = torch::randn({60, 5});
  const std::int64_t count = 12;
  // Brute force: start at row 0; add the row whose distance to its nearest chosen row is largest.
  std::vector<std::int64_t> expected = {0};
  while (static_cast<std::int64_t>(expected.size()) < count) {
    std::int64_t best = -1;
    double best_distance = -1;
    for (std::int64_t i = 0; i < rows.size(0); ++i) {
      double nearest = std::numeric_limits<double>::infinity();
      for (std::int64_t c : expected) nearest = std::min(nearest, distance(rows, i, rows, c));
      if (nearest > best_distance) best = i, best_distance = nearest;
    }
    expected.push_back(best);
  }
  at::Tensor got = greedy_k_center(rows, count);
  ASSERT_EQ(got.size(0), count);
  for (std::int64_t i = 0; i < count; ++i) EXPECT_EQ(got[i].item<std::int64_t>(), expected[i]) << i;
  EXPECT_EQ(greedy_k_center(rows, 0).size(0), 1);  // as the original: at least the first row
  EXPECT_EQ(greedy_k_center(rows, 1000).size(0), 60);
}

TEST(PatchScoring, NearestBankPatchesEqualBruteForce) {
  torch::manual_seed(4);
  at::Tensor queries = torch::randn({1500, 6}), bank = torch::randn({90, 6});  // > one query chunk
  NearestBankPatches nearest = nearest_bank_patches(queries, bank);
  for (std::int64_t q = 0; q < queries.size(0); q += 37) {
    std::int64_t best = 0;
    double best_distance = std::numeric_limits<double>::infinity();
    for (std::int64_t b = 0; b < bank.size(0); ++b)
      if (double d = distance(queries, q, bank, b); d < best_distance) best = b, best_distance = d;
    EXPECT_EQ(nearest.index[q].item<std::int64_t>(), best) << q;
    EXPECT_NEAR(nearest.distance[q].item<double>(), best_distance, 1e-5) << q;
  }
}

TEST(PatchScoring, ReweightingIsThePatchCoreFormula) {
  // s* = 2, D = 4 (sqrt 2), neighbours at 1 and 3: w = 1 - e^1 / (e^0.5 + e^1.5).
  EXPECT_NEAR(reweighting_factor(2, {1, 3}, 4), 1 - std::exp(1.0) / (std::exp(0.5) + std::exp(1.5)), 1e-12);
  EXPECT_NEAR(reweighting_factor(2, {1, 3}, 4), 0.5565906, 1e-7);  // 1 - 2.7182818 / 6.1304103
}

TEST(PatchScoring, ImageScoreIsTheReweightedLargestNearestDistance) {
  // 1-D features (D = 1) on a 2 x 2 patch grid; bank at 0, 1, 3. Test patches 0.5, 0.9, 3, 7: nearest
  // distances 0.5, 0.1, 0, 4 -> s* = 4 at the patch 7, m* = 3; the rows nearest to m* are 3 (itself), 1
  // and 0, at ||7 - 1|| = 6 and ||7 - 0|| = 7 from the test patch: w = 1 - e^4 / (e^6 + e^7).
  at::Tensor bank = torch::tensor({0.f, 1.f, 3.f}).reshape({3, 1});
  at::Tensor patches = torch::tensor({0.5f, 0.9f, 3.f, 7.f}).reshape({4, 1});
  ModalityScore s = score_modality(patches, bank, 2, 8);
  const double w = 1 - std::exp(4.0) / (std::exp(6.0) + std::exp(7.0));
  EXPECT_NEAR(s.image_score, w * 4, 1e-5);
  ASSERT_EQ(s.map.sizes(), (std::vector<std::int64_t>{8, 8}));
  // The blurred map is hottest at the corner of the patch 7.
  EXPECT_EQ(s.map.argmax().item<std::int64_t>(), 63);
}

TEST(PatchScoring, GaussianBlurKeepsConstantsAndSpreadsADeltaAsTheKernel) {
  at::Tensor flat = torch::full({20, 30}, 2.5f);
  EXPECT_TRUE(torch::allclose(gaussian_blur(flat, 4), flat, 1e-5, 1e-5));  // edges repeat outward
  at::Tensor delta = torch::zeros({41, 41});
  delta[20][20] = 1;
  at::Tensor blurred = gaussian_blur(delta, 4);
  // Radius 16: the 1-D kernel k(x) = exp(-x²/32) / sum over |x| <= 16; the 2-D response is k(dy) k(dx).
  double sum = 0;
  for (int x = -16; x <= 16; ++x) sum += std::exp(-x * x / 32.0);
  auto k = [&](int x) { return std::exp(-x * x / 32.0) / sum; };
  EXPECT_NEAR(blurred[20][20].item<double>(), k(0) * k(0), 1e-7);
  EXPECT_NEAR(blurred[20][25].item<double>(), k(0) * k(5), 1e-7);
  EXPECT_NEAR(blurred[12][29].item<double>(), k(8) * k(9), 1e-7);
  EXPECT_NEAR(blurred.sum().item<double>(), 1.0, 1e-5);  // the delta is far enough from the borders
}

TEST(MemoryBanks, TheM3dmRecipeCrossWiresTheStatisticsAndSizesTheRgbCoresetFromThe3dBank) {
  torch::manual_seed(5);
  at::Tensor rgb = torch::randn({300, 8}) * 3 + 1, xyz = torch::randn({500, 12}) * 0.5 - 2;
  MemoryBankSettings settings;
  settings.coreset_ratio = 0.1;
  MemoryBanks m3dm = build_memory_banks(rgb, xyz, settings, 11);
  EXPECT_NEAR(m3dm.xyz.mean, xyz.mean().item<double>(), 1e-6);
  EXPECT_NEAR(m3dm.xyz.std, rgb.std().item<double>(), 1e-6);    // the RGB bank's deviation
  EXPECT_NEAR(m3dm.rgb.mean, xyz.mean().item<double>(), 1e-6);  // the 3D bank's mean
  EXPECT_NEAR(m3dm.rgb.std, rgb.std().item<double>(), 1e-6);
  EXPECT_EQ(m3dm.xyz.rows.size(0), 50);  // 0.1 x 500
  EXPECT_EQ(m3dm.rgb.rows.size(0), 5);   // 0.1 x 50, the reduced 3D bank
  // Every kept row is a normalised training row.
  at::Tensor first = m3dm.rgb.rows[0];
  EXPECT_TRUE(((rgb - m3dm.rgb.mean) / m3dm.rgb.std - first).abs().sum(1).min().item<double>() < 1e-5);

  settings.recipe = "per_bank";
  MemoryBanks own = build_memory_banks(rgb, xyz, settings, 11);
  EXPECT_NEAR(own.xyz.std, xyz.std().item<double>(), 1e-6);
  EXPECT_NEAR(own.rgb.mean, rgb.mean().item<double>(), 1e-6);
  EXPECT_EQ(own.rgb.rows.size(0), 30);  // 0.1 x 300

  settings.coreset_ratio = 1;
  EXPECT_EQ(build_memory_banks(rgb, xyz, settings, 11).xyz.rows.size(0), 500);  // no coreset
}

// Both fusions fit, write the bank file and score; a second method loading that file scores the same maps
// and metrics (the SVM weights travel in the file).
TEST(MemoryBankMethod, EachFusionReloadsFromItsBankFileAndScoresTheSame) {
  test::TempDir dir;
  auto [settings, train, test_split] = test::tiny_bank_category(dir, 0.5);
  for (const char* fusion : {"add", "svm"}) {
    settings.memory_bank.fusion = fusion;
    const std::string run = dir / (std::string("run-") + fusion);
    MemoryBankMethod fitted(settings, "cookie", at::kCPU, dir / "cache");
    FitResult fit = fitted.fit(train, run);
    EXPECT_EQ(fit.timings.count("fusion"), std::string(fusion) == "svm" ? 1u : 0u) << fusion;
    StateDict file = read_checkpoint(run + "/" + fitted.bank_file_name());
    EXPECT_EQ(file.count("detect_coef"), std::string(fusion) == "svm" ? 1u : 0u) << fusion;
    CategoryEvaluation first = fitted.evaluate(test_split, run + "/eval-fitted", {}, true);
    MemoryBankMethod loaded(settings, "cookie", at::kCPU, dir / "cache");
    loaded.load(run);
    CategoryEvaluation second = loaded.evaluate(test_split, run + "/eval-loaded", {}, true);
    ASSERT_EQ(first.metrics.image_scores.size(), test_split.size());
    EXPECT_EQ(first.metrics.image_scores, second.metrics.image_scores) << fusion;
    ASSERT_TRUE(first.metrics.p_auroc && second.metrics.p_auroc);
    EXPECT_EQ(*first.metrics.p_auroc, *second.metrics.p_auroc) << fusion;
    if (std::string(fusion) == "svm") {
      // The image score is the detect SVM's weighing of [s_3D, 0.1 s_RGB]: positive weights on positive
      // scores, so a positive score for every sample.
      at::Tensor coef = file.at("detect_coef");
      EXPECT_GT(coef[0].item<double>(), 0) << coef;
      for (float s : first.metrics.image_scores) EXPECT_GT(s, 0);
    }
  }
  // A bank file without the SVM weights is refused by an svm method, naming the file.
  MemoryBankMethod svm(settings, "cookie", at::kCPU, "");
  try {
    svm.load(dir / "run-add");
    ADD_FAILURE() << "loaded an add bank file as svm";
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("memory_bank_cookie.pth"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace cfm
