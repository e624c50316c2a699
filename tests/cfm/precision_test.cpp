// The `precision` setting: names checked, tf32 refused off CUDA, bf16 autocasts the networks' products and
// leaves the geometry in float32, and what bf16 changes in the metrics on the synthetic set (printed; the
// figure docs/performance.md quotes).
#include "common/runtime/precision.h"

#include <torch/torch.h>

#include <cstdio>

#include "common/cfm/evaluator.h"
#include "common/cfm/trainer.h"
#include "common/data/dataset.h"
#include "common/features/sample_loader.h"
#include "common/util/error.h"
#include "synthetic_category.h"
#include "test_support.h"

namespace cfm {
namespace {

TEST(Precision, NamesAreCheckedAndTf32NeedsCuda) {
  EXPECT_EQ(parse_precision("bf16"), Precision::Bf16);
  EXPECT_THROW(parse_precision("fp16"), UsageError);
  try {
    PrecisionScope scope(Precision::Tf32, at::kCPU);
    FAIL() << "tf32 on the CPU";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("tf32 needs a CUDA device"), std::string::npos) << e.what();
  }
}

TEST(Precision, Bf16AutocastsProductsOnTheCpuFullPrecisionAndTheEndOfTheScopeRestoreFloat32) {
  const at::Tensor x = torch::randn({4, 8}), w = torch::randn({3, 8});
  {
    PrecisionScope bf16(Precision::Bf16, at::kCPU);
    EXPECT_EQ(torch::linear(x, w).scalar_type(), torch::kBFloat16);
    EXPECT_EQ(active_precision_tag(at::kCPU), "bf16");
    FullPrecision geometry;
    EXPECT_EQ(torch::matmul(x, w.t()).scalar_type(), torch::kFloat32);
  }
  EXPECT_EQ(torch::linear(x, w).scalar_type(), torch::kFloat32);
  EXPECT_EQ(active_precision_tag(at::kCPU), "");
  PrecisionScope fp32(Precision::Fp32, at::kCPU);
  EXPECT_EQ(torch::linear(x, w).scalar_type(), torch::kFloat32);
}

// fp32 also turns off the TF32 convolutions LibTorch allows by default, and every scope restores the
// flags it found (process-wide settings, readable without a GPU).
TEST(Precision, Fp32TurnsTf32OffAndEveryScopeRestoresTheFlags) {
  at::globalContext().setAllowTF32CuDNN(true);
  at::globalContext().setAllowTF32CuBLAS(false);
  {
    PrecisionScope fp32(Precision::Fp32, at::kCPU);
    EXPECT_FALSE(at::globalContext().allowTF32CuDNN());
    EXPECT_FALSE(at::globalContext().allowTF32CuBLAS());
  }
  EXPECT_TRUE(at::globalContext().allowTF32CuDNN());
  EXPECT_FALSE(at::globalContext().allowTF32CuBLAS());
}

// Both backbone modes extract under bf16 (official mode's BatchNorm takes float32 inputs only).
TEST(Precision, BothBackboneModesExtractUnderBf16) {
  test::TempDir dir;
  test::write_preprocessed_dataset(test::small_synth(dir / "data", 1, 200, 1, 0, 1));
  BackboneConfig config = test::tiny_backbones(dir / "weights", 28);
  const SampleFiles files = Dataset(dir / "data").samples("cookie", "train").at(0);
  const SampleTensors sample = load_sample(files, config.grid, config.vit.image_size);
  for (BackboneMode mode : {BackboneMode::Eval, BackboneMode::Official}) {
    config.mode = mode;
    FeatureExtractor extractor(config);
    const AlignedFeatures fp32 = extractor.align(extractor.extract(sample.rgb, sample.cloud));
    extractor.reseed(config.seed);
    PrecisionScope bf16(Precision::Bf16, at::kCPU);
    const AlignedFeatures reduced = extractor.align(extractor.extract(sample.rgb, sample.cloud));
    EXPECT_EQ(reduced.xyz_patch.scalar_type(), torch::kFloat32);
    const double difference =
        ((reduced.xyz_patch - fp32.xyz_patch).abs().max() / fp32.xyz_patch.abs().max()).item<double>();
    EXPECT_GT(difference, 0) << mode_name(mode);    // bfloat16 products ran
    EXPECT_LT(difference, 0.1) << mode_name(mode);  // and stayed near float32's
  }
}

// Trains and scores one synthetic category in fp32 and in bf16 (the same seeds, a cache for each, as the
// cache keys the precision): the maps change, the metrics barely.
TEST(Precision, Bf16AgainstFp32OnTheSyntheticSet) {
  test::TempDir dir;
  test::write_preprocessed_dataset(test::small_synth(dir / "data", 1, 200, 4, 0, 2));
  const BackboneConfig config = test::tiny_backbones(dir / "weights", 56);
  Dataset dataset(dir / "data");
  FeatureCache cache(dir / "cache", config);
  std::vector<Evaluation> results;
  std::vector<double> losses;
  for (Precision precision : {Precision::Fp32, Precision::Bf16}) {
    PrecisionScope scope(precision, at::kCPU);
    FeatureExtractor extractor(config);
    CrossmodalMappers mappers = make_mappers(extractor.vit().dim(), extractor.point_mae().output_channels());
    TrainOptions options;
    options.epochs = 5;
    options.batch_size = 2;
    losses.push_back(train_mappers(mappers, extractor, cache, dataset.samples("cookie", "train"), options)
                         .epoch_loss.back());
    results.push_back(evaluate_category(mappers, extractor, cache, dataset.samples("cookie", "test"),
                                        dir / ("eval-" + std::to_string(static_cast<int>(precision))))
                          .metrics);
  }
  const std::size_t samples = 4 + dataset.samples("cookie", "test").size();
  EXPECT_EQ(cache.misses(), 2 * samples);  // each precision computed its own entries
  const Evaluation &fp32 = results[0], &bf16 = results[1];
  std::printf(
      "bf16 - fp32 on the synthetic cookie (tiny backbones, grid 56, 5 epochs): last loss %.5f vs %.5f, "
      "I-AUROC %+.4f, P-AUROC %+.4f, AUPRO@30%% %+.4f, AUPRO@1%% %+.4f\n",
      losses[1], losses[0], *bf16.i_auroc - *fp32.i_auroc, *bf16.p_auroc - *fp32.p_auroc,
      *bf16.aupro.at(0.3) - *fp32.aupro.at(0.3), *bf16.aupro.at(0.01) - *fp32.aupro.at(0.01));
  EXPECT_NE(losses[1], losses[0]) << "bf16 changed nothing: was it applied?";
  EXPECT_NE(bf16.image_scores, fp32.image_scores);
  EXPECT_NEAR(*bf16.p_auroc, *fp32.p_auroc, 0.02);
  EXPECT_NEAR(*bf16.aupro.at(0.3), *fp32.aupro.at(0.3), 0.05);
  EXPECT_NEAR(*bf16.i_auroc, *fp32.i_auroc, 0.1);
}

}  // namespace
}  // namespace cfm
