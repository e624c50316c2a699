// The demo configuration must detect anomalies, not just find the object: CFM with the random `demo`
// backbones, trained as experiments/demo.yaml trains (20 samples, batch size 1, 15 epochs, grid 224), is
// compared with a shape-only baseline on the demo's cookie category. The baseline is the map CFM would
// produce if both discrepancies were the same constant on every pixel with a 3D feature: the 3D-valid
// mask, smoothed like CFM's maps. It knows where the object is and nothing about anomalies, so beating
// it at the strict FPR limits means the maps point at the defects (tools/shape_prior_baseline.py is the
// same baseline for any `cfm eval` output).
#include <torch/torch.h>

#include <filesystem>

#include "common/cfm/evaluator.h"
#include "common/cfm/scorer.h"
#include "common/cfm/trainer.h"
#include "common/data/dataset.h"
#include "common/data/png_io.h"
#include "common/data/tiff_io.h"
#include "common/features/random_backbones.h"
#include "synthetic_category.h"
#include "test_support.h"

namespace fs = std::filesystem;

namespace cfm {
namespace {

// The shape-only baseline from the evaluator's outputs: maps-3d/ tells which pixels have a 3D feature.
Evaluation shape_prior_baseline(const fs::path& eval_dir) {
  PixelMaps maps;
  for (const auto& entry : fs::recursive_directory_iterator(eval_dir / "maps-3d")) {
    if (entry.path().extension() != ".tiff") continue;
    Image<float> s3d = read_map_tiff(entry.path().string());
    at::Tensor valid = torch::from_blob(s3d.pixels.data(), {s3d.height, s3d.width}, torch::kFloat32)
                           .gt(0)
                           .to(torch::kFloat32);
    at::Tensor smoothed = box_filter(box_filter(valid, 5, 5), 7, 3).contiguous();
    Image<float> map(s3d.width, s3d.height, 1);
    std::copy_n(smoothed.data_ptr<float>(), map.pixels.size(), map.pixels.begin());
    maps.scores.push_back(std::move(map));
    fs::path relative = fs::relative(entry.path(), eval_dir / "maps-3d");
    fs::path mask = eval_dir / "gt" / relative.replace_extension(".png");  // good images have none
    maps.masks.push_back(fs::exists(mask) ? read_png_luma(mask.string()) : ImageU8(s3d.width, s3d.height, 1));
  }
  return evaluate_maps(maps, {}, EvaluationOptions{});
}

TEST(Detection, DemoConfigurationBeatsTheShapeOnlyBaseline) {
  test::TempDir dir;
  // The demo dataset's cookie category exactly (scripts/demo.sh: seed 0, 400 px, 20 train, 10 per test
  // folder).
  test::write_preprocessed_dataset(test::small_synth(dir / "data", 1, 400, 20, 0, 10));
  RandomBackboneFiles files = write_random_backbones(dir / "weights", "demo", 0);
  BackboneConfig config = backbone_preset("demo");
  config.vit_weights = files.vit;
  config.point_mae_weights = files.point_mae;
  config.seed = 115;
  ASSERT_EQ(config.grid, 224);

  Dataset dataset(dir / "data");
  FeatureExtractor extractor(config);
  FeatureCache cache(dir / "cache", config);
  CrossmodalMappers mappers =
      make_mappers(extractor.vit().dim(), extractor.point_mae().output_channels(), config.seed);
  TrainOptions options;
  options.epochs = 15;
  options.batch_size = 1;
  train_mappers(mappers, extractor, cache, dataset.samples("cookie", "train"), options);
  CategoryEvaluation cfm =
      evaluate_category(mappers, extractor, cache, dataset.samples("cookie", "test"), dir / "eval");
  Evaluation baseline = shape_prior_baseline(dir.path() / "eval");

  ASSERT_EQ(baseline.images, cfm.metrics.images);
  ASSERT_EQ(cfm.metrics.anomalous_images, 40u);
  // Measured when this test was written (as the demo grid's cookie job with 4 layers): CFM 0.742 / 0.375 /
  // 0.136 at 30 / 5 / 1 %, baseline 0.591 / 0.109 / 0.024; I-AUROC 0.662 over 10 good and 40 anomalous
  // images.
  EXPECT_GT(*cfm.metrics.aupro.at(0.3), *baseline.aupro.at(0.3) + 0.1);
  EXPECT_GT(*cfm.metrics.aupro.at(0.05), 2.5 * *baseline.aupro.at(0.05));
  EXPECT_GT(*cfm.metrics.aupro.at(0.01), 4 * *baseline.aupro.at(0.01));
  EXPECT_GT(*cfm.metrics.i_auroc, 0.6);
}

}  // namespace
}  // namespace cfm
