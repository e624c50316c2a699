// The device code (what a GPU job runs: farthest point sampling, the neighbour search, the alignment to
// the pixel grid, the blocks, the mappers and the smoothing in tensor operations) run here on the CPU
// (DeviceCodeOnCpu): it computes what the CPU loops compute, and between the inputs and the maps it reads
// nothing back to the host. An observer of every LibTorch operation (RecordFunction) records each copy to
// another device (`.to(device)`, `.cpu()`: every such move in the window would be a transfer on a GPU)
// and each value read back (`item`): tests/cfm/operation_observer.h.
#include <torch/torch.h>

#include "cfm/operation_observer.h"
#include "common/cfm/evaluator.h"
#include "common/cfm/scorer.h"
#include "common/data/dataset.h"
#include "common/features/feature_alignment.h"
#include "common/features/sample_loader.h"
#include "common/models/point_sampling.h"
#include "common/runtime/device_code.h"
#include "synthetic_category.h"
#include "test_support.h"

namespace cfm {
namespace {

TEST(DevicePath, TheObserverSeesCopiesToTheHostAndValuesReadBack) {
  at::Tensor t = torch::ones({4});
  for (int which = 0; which < 4; ++which) {
    test::ObservedOperations observed;
    if (which == 0) (void)t.cpu();
    if (which == 1) (void)t.to(at::Device(at::kCPU));
    if (which == 2) (void)t.sum().item<float>();
    if (which == 3) (void)t.to(torch::kFloat64);  // a type change alone is no transfer
    if (which == 3)
      EXPECT_TRUE(observed.log().host_reads.empty());
    else
      EXPECT_FALSE(observed.log().host_reads.empty()) << which;
  }
}

TEST(DevicePath, FarthestPointSamplingEqualsTheLoopAlsoOnTiesAndNearTheOrigin) {
  torch::manual_seed(6);
  at::Tensor random = torch::rand({3000, 3}) * 2 - 1;
  random.slice(0, 0, 200).mul_(0.01f);  // near the origin: never chosen
  at::Tensor lattice =
      torch::stack(torch::meshgrid({torch::arange(6), torch::arange(6), torch::arange(6)}, "ij"), -1)
          .reshape({-1, 3})
          .to(torch::kFloat32);
  at::Tensor repeated = torch::cat({lattice, lattice});  // every distance tied at least twice
  for (const at::Tensor& points : {random, lattice, repeated}) {
    at::Tensor loop = farthest_point_sample(points, 128);
    DeviceCodeOnCpu device_code;
    EXPECT_TRUE(torch::equal(farthest_point_sample(points, 128), loop));
  }
}

TEST(DevicePath, GridPoolingEqualsTheLoopBitForBit) {
  torch::manual_seed(7);
  const int grid = 40;
  at::Tensor indices = std::get<0>(torch::randperm(grid * grid, torch::kInt64).slice(0, 0, 500).sort());
  at::Tensor features = torch::randn({500, 9});
  at::Tensor loop = point_features_to_grid(features, indices, grid);
  DeviceCodeOnCpu device_code;
  EXPECT_TRUE(torch::equal(point_features_to_grid(features, indices, grid), loop));
}

TEST(DevicePath, TheWholePipelineOnTheDeviceCodeEqualsTheCpuAndReadsNothingBack) {
  test::TempDir dir;
  test::write_preprocessed_dataset(test::small_synth(dir / "data", 1, 200, 1, 0, 2));
  const BackboneConfig config = test::tiny_backbones(dir / "weights", 28);
  FeatureExtractor extractor(config);
  CrossmodalMappers mappers = make_mappers(extractor.vit().dim(), extractor.point_mae().output_channels());
  mappers.to_3d->eval();
  mappers.to_2d->eval();
  for (const SampleFiles& files : Dataset(dir / "data").samples("cookie", "test")) {
    SampleTensors sample = load_sample(files, config.grid, config.vit.image_size);
    BackboneOutputs cpu_outputs = extractor.extract(sample.rgb, sample.cloud);
    AnomalyMaps cpu = map_sample(mappers, extractor.align(cpu_outputs), config.grid);

    test::ObservedOperations observed;
    DeviceCodeOnCpu device_code;
    BackboneOutputs outputs = extractor.extract(sample.rgb, sample.cloud);
    AnomalyMaps maps = map_sample(mappers, extractor.align(outputs), config.grid);
    test::OperationLog& log = observed.log();
    EXPECT_TRUE(log.host_reads.empty())
        << log.host_reads.size() << " reads, the first: " << log.host_reads[0];
    // The device code ran: FPS's arg-max per centre, the sort of the alignment, the pooling of the grid.
    EXPECT_GE(log.operations.count("aten::argmax"), 31u);
    EXPECT_GE(log.operations.count("aten::avg_pool2d"), 1u);
    EXPECT_GE(log.operations.count("aten::sort"), 1u);

    EXPECT_TRUE(torch::equal(outputs.points.centre_index, cpu_outputs.points.centre_index)) << files.name;
    EXPECT_TRUE(torch::equal(outputs.pixel_indices, cpu_outputs.pixel_indices));
    auto relative = [](const at::Tensor& a, const at::Tensor& b) {
      return ((a - b).abs().max() / b.abs().max().clamp_min(1e-12)).item<double>();
    };
    // The blocks' batched attention rounds differently from the CPU's in-place one (~1e-7).
    EXPECT_LT(relative(outputs.points.features, cpu_outputs.points.features), 1e-5);
    EXPECT_LT(relative(maps.map_2d, cpu.map_2d), 1e-5) << files.name;
    EXPECT_LT(relative(maps.map_3d, cpu.map_3d), 1e-5) << files.name;
    EXPECT_LT(relative(maps.combined, cpu.combined), 1e-5) << files.name;
    EXPECT_TRUE(torch::equal(maps.combined == 0, cpu.combined == 0)) << "the smoothing's support changed";
  }
}

}  // namespace
}  // namespace cfm
