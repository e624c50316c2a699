// Training and evaluation end to end on a small synthetic category with tiny random backbones.
#include <torch/torch.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "common/cfm/evaluator.h"
#include "common/cfm/trainer.h"
#include "common/data/tiff_io.h"
#include "common/features/feature_cache.h"
#include "common/features/sample_loader.h"
#include "common/util/error.h"
#include "common/util/npy.h"
#include "synthetic_category.h"
#include "test_support.h"

namespace fs = std::filesystem;

namespace cfm {
namespace {

class TrainEval : public ::testing::Test {
 protected:
  void SetUp() override {
    test::write_preprocessed_dataset(test::small_synth(dir_ / "data", 1, 200, 4, 0, 1));
    config_ = test::tiny_backbones(dir_ / "weights", 28);
  }
  // The options of `cfm train` and `cfm eval` on this category with these backbones.
  std::string command_line_options(int epochs) const {
    return " --data " + (dir_ / "data") + " --category cookie --preset demo --vit-weights " +
           config_.vit_weights + " --point-mae-weights " + config_.point_mae_weights +
           " --image-size 112 --grid 28 --groups 32 --group-size 16 --epochs " + std::to_string(epochs) +
           " --batch-size 2 --threads 1";
  }
  test::TempDir dir_;
  BackboneConfig config_;
};

TEST_F(TrainEval, LossDecreasesCacheServesLaterRunsAndEvaluationWritesEverything) {
  FeatureExtractor extractor(config_);
  FeatureCache cache(dir_ / "cache", config_);
  Dataset dataset(dir_ / "data");
  auto train = dataset.samples("cookie", "train");
  CrossmodalMappers mappers = make_mappers(extractor.vit().dim(), extractor.point_mae().output_channels());
  TrainOptions options;
  options.epochs = 8;
  options.batch_size = 2;
  TrainReport report = train_mappers(mappers, extractor, cache, train, options);
  ASSERT_EQ(report.epoch_loss.size(), 8u);
  EXPECT_LT(report.epoch_loss.back(), report.epoch_loss.front());
  EXPECT_EQ(cache.misses(), train.size());
  // The same seed reproduces the training exactly, now from the cache.
  CrossmodalMappers again = make_mappers(extractor.vit().dim(), extractor.point_mae().output_channels());
  TrainReport second = train_mappers(again, extractor, cache, train, options);
  EXPECT_EQ(second.epoch_loss, report.epoch_loss);
  EXPECT_EQ(cache.hits(), train.size());
  // Realigning every epoch instead of keeping the aligned rows in memory changes nothing.
  CrossmodalMappers realigned = make_mappers(extractor.vit().dim(), extractor.point_mae().output_channels());
  TrainOptions no_kept_rows = options;
  no_kept_rows.aligned_cache_bytes = 0;
  EXPECT_EQ(train_mappers(realigned, extractor, cache, train, no_kept_rows).epoch_loss, report.epoch_loss);

  CategoryEvaluation result =
      evaluate_category(mappers, extractor, cache, dataset.samples("cookie", "test"), dir_ / "eval");
  EXPECT_EQ(result.metrics.images, 5u);
  EXPECT_EQ(result.metrics.anomalous_images, 4u);
  EXPECT_TRUE(result.metrics.p_auroc.has_value());
  for (const char* path : {"eval/maps/bump/000.png", "eval/gt/crack/000.png"})
    EXPECT_TRUE(fs::is_regular_file(dir_.path() / path)) << path;
  // The files say what the evaluation computed: metrics.json the same metrics, scores.csv the same
  // image scores in test order, and the maps the pixel grid's size with finite, non-negative values.
  std::ifstream metrics_file(dir_ / "eval/metrics.json");
  nlohmann::json metrics = nlohmann::json::parse(metrics_file);
  EXPECT_DOUBLE_EQ(metrics["i_auroc"].get<double>(), *result.metrics.i_auroc);
  EXPECT_DOUBLE_EQ(metrics["p_auroc"].get<double>(), *result.metrics.p_auroc);
  EXPECT_DOUBLE_EQ(metrics["aupro@0.3"].get<double>(), *result.metrics.aupro.at(0.3));
  EXPECT_EQ(metrics["images"], 5);
  std::ifstream scores(dir_ / "eval/scores.csv");
  std::string line;
  std::getline(scores, line);
  EXPECT_EQ(line, "map,score,label");
  auto test_samples = dataset.samples("cookie", "test");
  for (std::size_t i = 0; i < test_samples.size(); ++i) {
    ASSERT_TRUE(std::getline(scores, line)) << "scores.csv has " << i << " rows";
    std::string expected_map = test_samples[i].defect + "/" + test_samples[i].name + ".tiff,";
    EXPECT_EQ(line.rfind(expected_map, 0), 0u) << line;
    float score = std::stof(line.substr(expected_map.size()));
    EXPECT_NEAR(score, result.metrics.image_scores[i], 1e-5 * std::abs(result.metrics.image_scores[i]))
        << line;
  }
  for (const char* map :
       {"eval/maps/good/000.tiff", "eval/maps-2d/bump/000.tiff", "eval/maps-3d/good/000.tiff"}) {
    Image<float> image = read_map_tiff(dir_ / map);
    EXPECT_EQ(image.width, 28) << map;
    EXPECT_EQ(image.height, 28) << map;
    EXPECT_TRUE(std::all_of(image.pixels.begin(), image.pixels.end(), [](float v) {
      return std::isfinite(v) && v >= 0;
    })) << map;
    EXPECT_TRUE(std::any_of(image.pixels.begin(), image.pixels.end(), [](float v) { return v > 0; })) << map;
  }
}

// Jobs on several nodes of a few-shot grid compute the same cache entries at the same moment: every one of
// them succeeds, and what stays in the cache is whole. (Whether two writes meet in time here is up to the
// scheduler; tests/util/whole_file_test.cpp makes writers of one file meet thousands of times.)
TEST_F(TrainEval, FourJobsWritingTheSameCacheEntriesAtOnceAllSucceed) {
  const SampleFiles files = Dataset(dir_ / "data").samples("cookie", "train").front();
  const SampleTensors sample = load_sample(files, config_.grid, config_.vit.image_size);
  constexpr int kJobs = 4, kRounds = 3;
  std::vector<std::unique_ptr<FeatureExtractor>> extractors;
  for (int job = 0; job < kJobs; ++job) extractors.push_back(std::make_unique<FeatureExtractor>(config_));
  const at::Tensor expected = extractors.front()->extract(sample.rgb, sample.cloud).rgb_map;
  for (int round = 0; round < kRounds; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    const std::string folder = dir_ / ("cache-" + std::to_string(round));
    std::atomic<int> ready{0};
    std::vector<std::string> failures(kJobs);
    std::vector<std::thread> jobs;
    for (int job = 0; job < kJobs; ++job)
      jobs.emplace_back([&, job] {
        try {
          FeatureCache cache(folder, config_);
          for (++ready; ready < kJobs;) std::this_thread::yield();  // all start computing together
          cache.outputs(*extractors[static_cast<std::size_t>(job)], files, sample.rgb, sample.cloud);
        } catch (const std::exception& e) {
          failures[static_cast<std::size_t>(job)] = e.what();
        }
      });
    for (std::thread& job : jobs) job.join();
    for (const std::string& failure : failures) EXPECT_EQ(failure, "");
    std::vector<fs::path> left;
    for (const auto& file : fs::directory_iterator(folder)) left.push_back(file.path());
    ASSERT_EQ(left.size(), 1u) << "temporaries left behind";
    EXPECT_EQ(left.front().extension(), ".pth");
    FeatureCache cache(folder, config_);
    EXPECT_TRUE(
        torch::equal(cache.outputs(*extractors.front(), files, sample.rgb, sample.cloud).rgb_map, expected));
    EXPECT_EQ(cache.hits(), 1u);  // read back whole, not recomputed
  }
}

TEST_F(TrainEval, CommandLineTrainThenEvalWithOfficialCheckpointNames) {
  std::string cfm = CFM_BINARY;
  const std::string common = command_line_options(3);
  auto t = test::run_command(cfm + " train" + common + " --out " + (dir_ / "run"));
  ASSERT_EQ(t.exit_code, 0) << t.output;
  EXPECT_TRUE(fs::is_regular_file(dir_.path() / "run/CFM_2Dto3D_cookie_3ep_2bs.pth"));
  EXPECT_TRUE(fs::is_regular_file(dir_.path() / "run/CFM_3Dto2D_cookie_3ep_2bs.pth"));
  auto e = test::run_command(cfm + " eval" + common + " --mappers " + (dir_ / "run") + " --out " +
                             (dir_ / "eval"));
  ASSERT_EQ(e.exit_code, 0) << e.output;
  EXPECT_NE(e.output.find("AUPRO@30% & AUPRO@10%"), std::string::npos) << e.output;
  // The written maps evaluate to the same numbers with `cfm metrics`.
  auto m = test::run_command(cfm + " metrics --maps " + (dir_ / "eval/maps") + " --gt " + (dir_ / "eval/gt"));
  ASSERT_EQ(m.exit_code, 0) << m.output;
  std::string table_line = e.output.substr(e.output.find('\n', e.output.find("I-AUROC")) + 1, 40);
  EXPECT_NE(m.output.find(table_line.substr(0, table_line.find('\n'))), std::string::npos)
      << e.output << "\n---\n"
      << m.output;
  // `--device` reaches the extractor: a bad name is a usage error; without CUDA a GPU is refused with the
  // reason.
  auto bad_device = test::run_command(cfm + " eval" + common + " --device gpu0 --mappers " + (dir_ / "run") +
                                      " --out " + (dir_ / "eval4"));
  EXPECT_EQ(bad_device.exit_code, 2) << bad_device.output;
  EXPECT_NE(bad_device.output.find("unknown device 'gpu0'"), std::string::npos) << bad_device.output;
#ifndef CFM_WITH_CUDA
  auto gpu = test::run_command(cfm + " train" + common + " --device cuda:0 --out " + (dir_ / "run-gpu"));
  EXPECT_EQ(gpu.exit_code, 1) << gpu.output;
  EXPECT_NE(gpu.output.find("device cuda:0: this cfm has no CUDA"), std::string::npos) << gpu.output;
#endif
  // Missing checkpoints and mismatched mappers: one clear error each.
  auto missing = test::run_command(cfm + " eval" + common + " --mappers " + (dir_ / "nowhere") + " --out " +
                                   (dir_ / "eval2"));
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.output.find("CFM_2Dto3D_cookie_3ep_2bs.pth"), std::string::npos) << missing.output;
  auto pruned = test::run_command(cfm + " eval" + common + " --layers 2 --mappers " + (dir_ / "run") +
                                  " --out " + (dir_ / "eval3"));
  EXPECT_EQ(pruned.exit_code, 2);
  EXPECT_NE(pruned.output.find("the mappers map"), std::string::npos) << pruned.output;
}

// The authors' Eyecandies networks (--mapper big): they train (the loss falls), their checkpoints load in
// the official FeatureProjectionMLP_big with strict=True and compute what ours compute, evaluation needs
// the same --mapper, and the checkpoint says so when it is not given.
TEST_F(TrainEval, BigMappersTrainAndTheirCheckpointsLoadInTheOfficialClass) {
  std::string cfm = CFM_BINARY;
  const std::string common = command_line_options(6);
  auto t = test::run_command(cfm + " train" + common + " --mapper big --out " + (dir_ / "run"));
  ASSERT_EQ(t.exit_code, 0) << t.output;
  std::ifstream train_file(dir_ / "run/train.json");
  nlohmann::json train = nlohmann::json::parse(train_file);
  EXPECT_EQ(train["mapper"], "big");
  std::vector<double> losses = train["epoch_loss"];
  ASSERT_EQ(losses.size(), 6u);
  EXPECT_LT(losses.back(), losses.front());
  const std::string to_3d = dir_ / "run/CFM_2Dto3D_cookie_6ep_2bs.pth";
  MappingNetwork ours = load_mapping_network(to_3d, MapperKind::Big);
  ASSERT_EQ(ours->state().size(), 14u);

  auto standard = test::run_command(cfm + " eval" + common + " --mappers " + (dir_ / "run") + " --out " +
                                    (dir_ / "eval-standard"));
  EXPECT_EQ(standard.exit_code, 1) << standard.output;
  EXPECT_NE(standard.output.find("pass --mapper big"), std::string::npos) << standard.output;
  auto big = test::run_command(cfm + " eval" + common + " --mapper big --mappers " + (dir_ / "run") +
                               " --out " + (dir_ / "eval-big"));
  ASSERT_EQ(big.exit_code, 0) << big.output;
  EXPECT_NE(big.output.find("AUPRO@30% & AUPRO@10%"), std::string::npos) << big.output;

  CFM_REQUIRE_PYTHON("torch", "python3-torch");
  at::Tensor x = torch::randn({7, ours->in_features()});
  write_npy_f32(dir_ / "x.npy", {7, ours->in_features()}, x.data_ptr<float>());
  auto r =
      test::run_command("/usr/bin/python3 " CFM_SOURCE_DIR "/tools/mapping_reference.py " + to_3d + " " +
                        std::to_string(ours->in_features()) + " " + std::to_string(ours->out_features()) +
                        " " + (dir_ / "x.npy") + " " + (dir_ / "y.npy") + " --big");
  ASSERT_EQ(r.exit_code, 0) << r.output;  // load_state_dict(strict=True) accepted every key
  NpyArray y = read_npy(dir_ / "y.npy");
  torch::NoGradGuard no_grad;
  at::Tensor theirs = torch::from_blob(y.data.data(), {7, ours->out_features()}, torch::kFloat32);
  EXPECT_LE((theirs - ours->forward(x)).abs().max().item<float>(), 1e-5f);
}

}  // namespace
}  // namespace cfm
