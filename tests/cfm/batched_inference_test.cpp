// Scoring test samples in batches (infer_batch_size) gives what scoring them one at a time gives: the
// backbones, the networks and the smoothing on a batch, a cache shared by both, and a test split whose
// size is no multiple of the batch.
#include <torch/torch.h>

#include "common/cfm/evaluator.h"
#include "common/cfm/scorer.h"
#include "common/data/dataset.h"
#include "common/data/tiff_io.h"
#include "common/features/sample_loader.h"
#include "synthetic_category.h"
#include "test_support.h"

namespace cfm {
namespace {

double relative_difference(const at::Tensor& a, const at::Tensor& b) {
  return ((a - b).abs().max() / b.abs().max().clamp_min(1e-12)).item<double>();
}

at::Tensor map_file(const std::string& path) {
  Image<float> map = read_map_tiff(path);
  return torch::from_blob(map.pixels.data(), {static_cast<std::int64_t>(map.pixels.size())}, torch::kFloat32)
      .clone();
}

class BatchedInference : public ::testing::Test {
 protected:
  void SetUp() override {
    test::write_preprocessed_dataset(test::small_synth(dir_ / "data", 1, 200, 1, 0, 2));
    config_ = test::tiny_backbones(dir_ / "weights", 28);
    test_ = Dataset(dir_ / "data").samples("cookie", "test");
  }
  test::TempDir dir_;
  BackboneConfig config_;
  std::vector<SampleFiles> test_;
};

TEST_F(BatchedInference, ABatchOfFourGivesEachSampleItsOwnFeaturesAndMaps) {
  ASSERT_GE(test_.size(), 4u);
  FeatureExtractor extractor(config_);
  CrossmodalMappers mappers = make_mappers(extractor.vit().dim(), extractor.point_mae().output_channels());
  mappers.to_3d->eval();
  mappers.to_2d->eval();
  std::vector<at::Tensor> rgbs, clouds;
  for (std::size_t i = 0; i < 4; ++i) {
    SampleTensors s = load_sample(test_[i], config_.grid, config_.vit.image_size);
    rgbs.push_back(s.rgb);
    clouds.push_back(s.cloud);
  }
  std::vector<BackboneOutputs> batch = extractor.extract_batch(rgbs, clouds);
  std::vector<AlignedFeatures> aligned;
  for (const BackboneOutputs& o : batch) aligned.push_back(extractor.align(o));
  std::vector<AnomalyMaps> maps = map_samples(mappers, aligned, config_.grid);
  ASSERT_EQ(maps.size(), 4u);
  for (std::size_t i = 0; i < 4; ++i) {
    BackboneOutputs one = extractor.extract(rgbs[i], clouds[i]);
    AnomalyMaps alone = map_sample(mappers, extractor.align(one), config_.grid);
    EXPECT_TRUE(torch::equal(batch[i].points.centre_index, one.points.centre_index)) << i;
    EXPECT_LT(relative_difference(batch[i].rgb_map, one.rgb_map), 1e-6) << i;
    EXPECT_LT(relative_difference(batch[i].points.features, one.points.features), 1e-6) << i;
    EXPECT_LT(relative_difference(maps[i].combined, alone.combined), 1e-6) << i;
    EXPECT_TRUE(torch::equal(maps[i].combined == 0, alone.combined == 0)) << i;
  }
  EXPECT_FALSE(torch::allclose(maps[0].combined, maps[1].combined));  // the samples really differ
}

// Official mode encodes each cloud of a batch alone, in order: the same DropPath draws and BatchNorm
// statistics as one sample at a time from the same seed.
TEST_F(BatchedInference, OfficialModeDrawsPerSampleInOrder) {
  config_.mode = BackboneMode::Official;
  config_.point_mae.drop_path_rate = 2;  // branches dropped often (keep 1 - 2 i / 11), so draws show
  FeatureExtractor extractor(config_);
  std::vector<at::Tensor> rgbs, clouds;
  for (std::size_t i = 0; i < 3; ++i) {
    SampleTensors s = load_sample(test_[i], config_.grid, config_.vit.image_size);
    rgbs.push_back(s.rgb);
    clouds.push_back(s.cloud);
  }
  extractor.reseed(7);
  std::vector<BackboneOutputs> batch = extractor.extract_batch(rgbs, clouds);
  extractor.reseed(7);
  for (std::size_t i = 0; i < 3; ++i) {
    BackboneOutputs one = extractor.extract(rgbs[i], clouds[i]);
    EXPECT_LT(relative_difference(batch[i].points.features, one.points.features), 1e-6) << i;
  }
  extractor.reseed(8);  // other draws give other features: the draws matter here
  EXPECT_GT(
      relative_difference(extractor.extract(rgbs[0], clouds[0]).points.features, batch[0].points.features),
      1e-3);
}

TEST_F(BatchedInference, ATestSplitScoredInBatchesOfFourEqualsOneAtATime) {
  FeatureExtractor extractor(config_);
  CrossmodalMappers mappers = make_mappers(extractor.vit().dim(), extractor.point_mae().output_channels());
  std::vector<Evaluation> results;
  for (int batch : {1, 4}) {
    FeatureCache cache("", config_);
    results.push_back(evaluate_category(mappers, extractor, cache, test_,
                                        dir_ / ("b" + std::to_string(batch)), {}, nullptr, batch)
                          .metrics);
  }
  ASSERT_GT(test_.size() % 4, 0u) << "the split should end in a partial batch";
  ASSERT_EQ(results[1].image_scores.size(), test_.size());
  for (std::size_t i = 0; i < test_.size(); ++i) {
    EXPECT_NEAR(results[1].image_scores[i], results[0].image_scores[i], 1e-6 * results[0].image_scores[i]);
    const std::string name = test_[i].defect + "/" + test_[i].name + ".tiff";
    EXPECT_LT(relative_difference(map_file(dir_ / ("b4/maps/" + name)), map_file(dir_ / ("b1/maps/" + name))),
              1e-6)
        << name;
  }
  EXPECT_NEAR(*results[1].p_auroc, *results[0].p_auroc, 1e-9);
  EXPECT_NEAR(*results[1].aupro.at(0.3), *results[0].aupro.at(0.3), 1e-9);
}

TEST_F(BatchedInference, ACacheFilledOneAtATimeServesABatchAndTheReverse) {
  FeatureExtractor extractor(config_);
  FeatureCache cache(dir_ / "cache", config_);
  std::vector<at::Tensor> rgbs, clouds;
  std::vector<SampleFiles> files = {test_[0], test_[1], test_[2]};
  for (const SampleFiles& f : files) {
    SampleTensors s = load_sample(f, config_.grid, config_.vit.image_size);
    rgbs.push_back(s.rgb);
    clouds.push_back(s.cloud);
  }
  BackboneOutputs first = cache.outputs(extractor, files[0], rgbs[0], clouds[0]);  // a miss
  std::vector<BackboneOutputs> batch = cache.outputs_batch(extractor, files, rgbs, clouds);
  EXPECT_EQ(cache.hits(), 1u);
  EXPECT_EQ(cache.misses(), 3u);  // the first alone, then the other two together
  EXPECT_TRUE(torch::equal(batch[0].points.features, first.points.features));
  BackboneOutputs third = cache.outputs(extractor, files[2], rgbs[2], clouds[2]);
  EXPECT_EQ(cache.hits(), 2u);
  EXPECT_TRUE(torch::equal(third.rgb_map, batch[2].rgb_map));
}

}  // namespace
}  // namespace cfm
