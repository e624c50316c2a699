// The same features, training and scores on a GPU as on the CPU (skipped where LibTorch has no CUDA or
// the machine has no GPU: run it on a CUDA build, see docs/building.md).
#include <torch/cuda.h>
#include <torch/torch.h>

#include <cstdio>

#include "cfm/operation_observer.h"
#include "common/cfm/evaluator.h"
#include "common/cfm/trainer.h"
#include "common/data/dataset.h"
#include "common/features/sample_loader.h"
#include "common/runtime/compute_device.h"
#include "common/runtime/precision.h"
#include "common/util/error.h"
#include "synthetic_category.h"
#include "test_support.h"

namespace cfm {
namespace {

class Gpu : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device (CPU-only LibTorch or no GPU)";
    test::write_preprocessed_dataset(test::small_synth(dir_ / "data", 1, 200, 4, 0, 1));
    config_ = test::tiny_backbones(dir_ / "weights", 56);
  }
  test::TempDir dir_;
  BackboneConfig config_;
};

double max_relative_error(const at::Tensor& gpu, const at::Tensor& cpu) {
  return ((gpu.cpu() - cpu).abs().max() / cpu.abs().max().clamp_min(1e-12)).item<double>();
}

TEST_F(Gpu, FeaturesMatchTheCpu) {
  for (BackboneMode mode : {BackboneMode::Eval, BackboneMode::Official}) {
    config_.mode = mode;
    FeatureExtractor cpu(config_), gpu(config_, parse_compute_device("cuda:0"));
    SampleFiles sample = Dataset(dir_ / "data").samples("cookie", "test").at(0);
    SampleTensors s = load_sample(sample, config_.grid, config_.vit.image_size);
    AlignedFeatures a = cpu.align(cpu.extract(s.rgb, s.cloud)), b = gpu.align(gpu.extract(s.rgb, s.cloud));
    ASSERT_TRUE(b.rgb_patch.is_cuda());
    EXPECT_LT(max_relative_error(b.rgb_patch, a.rgb_patch), 1e-4) << mode_name(mode);
    EXPECT_LT(max_relative_error(b.xyz_patch, a.xyz_patch), 1e-4) << mode_name(mode);
    EXPECT_TRUE(torch::equal(b.empty.cpu(), a.empty)) << mode_name(mode);
  }
}

TEST_F(Gpu, TrainingAndScoresMatchTheCpuAndPeakMemoryIsRecorded) {
  const at::Device cuda = parse_compute_device("cuda:0");
  reset_peak_gpu_memory(cuda);
  Dataset dataset(dir_ / "data");
  std::vector<Evaluation> results;
  std::vector<std::vector<double>> losses;
  for (at::Device device : {at::Device(at::kCPU), cuda}) {
    FeatureExtractor extractor(config_, device);
    FeatureCache cache(dir_ / ("cache-" + device.str()), config_);
    CrossmodalMappers mappers = make_mappers(extractor.vit().dim(), extractor.point_mae().output_channels());
    TrainOptions options;
    options.epochs = 3;
    options.batch_size = 2;
    losses.push_back(
        train_mappers(mappers, extractor, cache, dataset.samples("cookie", "train"), options).epoch_loss);
    results.push_back(evaluate_category(mappers, extractor, cache, dataset.samples("cookie", "test"),
                                        dir_ / ("eval-" + device.str()))
                          .metrics);
  }
  for (std::size_t e = 0; e < losses[0].size(); ++e)
    EXPECT_NEAR(losses[1][e], losses[0][e], 1e-4) << "epoch " << e + 1;
  EXPECT_NEAR(*results[1].p_auroc, *results[0].p_auroc, 1e-3);
  EXPECT_NEAR(*results[1].aupro.at(0.3), *results[0].aupro.at(0.3), 1e-3);
  std::optional<std::int64_t> peak = peak_gpu_memory_bytes(cuda);
  ASSERT_TRUE(peak.has_value());
  EXPECT_GT(*peak, 0);
  EXPECT_FALSE(peak_gpu_memory_bytes(at::kCPU).has_value());
}

TEST_F(Gpu, DeviceNamesAreChecked) {
  EXPECT_THROW(parse_compute_device("cuda:99"), Error);
  EXPECT_THROW(parse_compute_device("gpu0"), UsageError);
  EXPECT_EQ(parse_compute_device("cuda"), at::Device("cuda:0"));
}

// A batch on the GPU: its inputs go in, its maps come out, nothing is read back in between (the observer of
// tests/cfm/operation_observer.h), and each sample equals the CPU's, scored alone.
TEST_F(Gpu, ABatchStaysOnTheGpuAndEqualsTheCpu) {
  const at::Device cuda = parse_compute_device("cuda:0");
  FeatureExtractor cpu(config_), gpu(config_, cuda);
  CrossmodalMappers mappers = make_mappers(cpu.vit().dim(), cpu.point_mae().output_channels());
  CrossmodalMappers gpu_mappers = make_mappers(cpu.vit().dim(), cpu.point_mae().output_channels());
  for (CrossmodalMappers* m : {&mappers, &gpu_mappers}) {
    m->to_3d->eval();
    m->to_2d->eval();
  }
  gpu_mappers.to_3d->to(cuda);
  gpu_mappers.to_2d->to(cuda);
  std::vector<SampleTensors> samples;
  std::vector<at::Tensor> rgbs, clouds;
  for (const SampleFiles& f : Dataset(dir_ / "data").samples("cookie", "test")) {
    samples.push_back(load_sample(f, config_.grid, config_.vit.image_size));
    rgbs.push_back(samples.back().rgb.to(cuda));
    clouds.push_back(samples.back().cloud.to(cuda));
  }
  std::vector<BackboneOutputs> outputs;
  std::vector<AnomalyMaps> maps;
  {
    test::ObservedOperations observed;
    outputs = gpu.extract_batch(rgbs, clouds);
    std::vector<AlignedFeatures> aligned;
    for (const BackboneOutputs& o : outputs) aligned.push_back(gpu.align(o));
    maps = map_samples(gpu_mappers, aligned, config_.grid);
    const std::vector<std::string>& reads = observed.log().host_reads;
    EXPECT_TRUE(reads.empty()) << reads.size() << " host reads, the first: " << reads[0];
  }
  for (std::size_t i = 0; i < samples.size(); ++i) {
    BackboneOutputs one = cpu.extract(samples[i].rgb, samples[i].cloud);
    AnomalyMaps alone = map_sample(mappers, cpu.align(one), config_.grid);
    ASSERT_TRUE(maps[i].combined.is_cuda());
    EXPECT_TRUE(torch::equal(outputs[i].points.centre_index.cpu(), one.points.centre_index)) << i;
    EXPECT_LT(max_relative_error(outputs[i].points.features, one.points.features), 1e-4) << i;
    EXPECT_LT(max_relative_error(maps[i].combined, alone.combined), 1e-4) << i;
  }
}

// tf32 and bf16 train and score on the GPU and stay near fp32 (the figures printed go to
// docs/performance.md).
TEST_F(Gpu, Tf32AndBf16StayNearFp32) {
  const at::Device cuda = parse_compute_device("cuda:0");
  Dataset dataset(dir_ / "data");
  std::vector<Evaluation> results;
  for (Precision precision : {Precision::Fp32, Precision::Tf32, Precision::Bf16}) {
    PrecisionScope scope(precision, cuda);
    FeatureExtractor extractor(config_, cuda);
    FeatureCache cache("", config_);
    CrossmodalMappers mappers = make_mappers(extractor.vit().dim(), extractor.point_mae().output_channels());
    TrainOptions options;
    options.epochs = 3;
    options.batch_size = 2;
    train_mappers(mappers, extractor, cache, dataset.samples("cookie", "train"), options);
    results.push_back(evaluate_category(mappers, extractor, cache, dataset.samples("cookie", "test"),
                                        dir_ / ("precision-" + std::to_string(results.size())), {}, nullptr,
                                        4)
                          .metrics);
  }
  for (std::size_t p = 1; p < results.size(); ++p) {
    std::printf("%s - fp32 on cuda:0: P-AUROC %+.4f, AUPRO@30%% %+.4f\n", p == 1 ? "tf32" : "bf16",
                *results[p].p_auroc - *results[0].p_auroc,
                *results[p].aupro.at(0.3) - *results[0].aupro.at(0.3));
    EXPECT_NEAR(*results[p].p_auroc, *results[0].p_auroc, 0.02);
    EXPECT_NEAR(*results[p].aupro.at(0.3), *results[0].aupro.at(0.3), 0.05);
  }
}

TEST(ComputeDevice, NamesAreParsedAndCudaWithoutCudaIsExplained) {
  EXPECT_EQ(parse_compute_device("cpu"), at::Device(at::kCPU));
  EXPECT_THROW(parse_compute_device("gpu0"), UsageError);
  EXPECT_THROW(parse_compute_device("cuda:x"), UsageError);
  // Names alone (what worker slot lists are checked with) need no GPU.
  EXPECT_EQ(parse_device_name("cuda"), at::Device("cuda:0"));
  EXPECT_EQ(parse_device_name("cuda:3"), at::Device("cuda:3"));
  EXPECT_THROW(parse_device_name("cuda:x"), UsageError);
  EXPECT_THROW(parse_device_name("cpu:0x"), UsageError);
  EXPECT_FALSE(peak_gpu_memory_bytes(at::kCPU).has_value());
  if (torch::cuda::is_available()) return;  // the Gpu tests cover CUDA machines
#ifdef CFM_WITH_CUDA
  const std::string expected = "device cuda:0: this cfm is built with CUDA but finds no usable GPU";
#else
  const std::string expected = "device cuda:0: this cfm has no CUDA";
#endif
  try {
    parse_compute_device("cuda:0");
    ADD_FAILURE() << "cuda:0 accepted without CUDA";
  } catch (const UsageError&) {
    ADD_FAILURE() << "a valid device name reported as a usage error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(expected), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace cfm
