// Benchmark (not a test): training and inference costs of CFM on synthetic data.
//  - epoch time with the feature cache (backbones skipped) and without it (backbones every batch, as the
//    official loop does);
//  - the mapping networks on the loss pixels only vs on every pixel then masked (the official way): same
//    loss, different work;
//  - inference time per sample, peak RSS and, on a GPU, peak GPU memory.
//   build/bench/cfm_train_benchmark [--preset demo|paper] [--samples N] [--device cpu|cuda:N]
#include <sys/resource.h>
#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>

#include "bench/synthetic_category.h"
#include "common/cfm/evaluator.h"
#include "common/cfm/trainer.h"
#include "common/features/random_backbones.h"
#include "common/features/sample_loader.h"
#include "common/runtime/compute_device.h"

namespace fs = std::filesystem;

namespace {

double since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

double peak_rss_mb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;
}

// The official computation: both networks on every pixel of the batch, then the masked mean.
at::Tensor full_pixel_loss(cfm::CrossmodalMappers& m, const std::vector<cfm::AlignedFeatures>& batch) {
  std::vector<at::Tensor> rgb, xyz, keep;
  for (const auto& a : batch) {
    rgb.push_back(a.rgb_patch);
    xyz.push_back(a.xyz_patch);
    keep.push_back(~a.empty);
  }
  at::Tensor r = torch::cat(rgb), x = torch::cat(xyz), k = torch::cat(keep);
  at::Tensor cos_3d = torch::cosine_similarity(m.to_3d->forward(r), x, 1, 1e-6);
  at::Tensor cos_2d = torch::cosine_similarity(m.to_2d->forward(x), r, 1, 1e-6);
  return (1 - cos_3d.masked_select(k).mean()) + (1 - cos_2d.masked_select(k).mean());
}

at::Tensor masked_pixel_loss(cfm::CrossmodalMappers& m, const std::vector<cfm::AlignedFeatures>& batch) {
  std::vector<at::Tensor> rgb, xyz;
  for (const auto& a : batch) {
    at::Tensor k = (~a.empty).nonzero().squeeze(1);
    rgb.push_back(a.rgb_patch.index_select(0, k));
    xyz.push_back(a.xyz_patch.index_select(0, k));
  }
  at::Tensor r = torch::cat(rgb), x = torch::cat(xyz);
  return (1 - torch::cosine_similarity(m.to_3d->forward(r), x, 1, 1e-6).mean()) +
         (1 - torch::cosine_similarity(m.to_2d->forward(x), r, 1, 1e-6).mean());
}

}  // namespace

int main(int argc, char** argv) {
  std::string preset = "demo";
  int samples = 4;
  std::string device_name = "cpu";
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--device")) device_name = argv[i + 1];
    if (!std::strcmp(argv[i], "--preset")) preset = argv[i + 1];
    if (!std::strcmp(argv[i], "--samples")) samples = std::atoi(argv[i + 1]);
  }
  fs::path dir = fs::temp_directory_path() / ("cfm-train-bench-" + preset);
  fs::remove_all(dir);
  const std::string data_dir = cfm::bench::write_synthetic_category((dir / "data").string(), samples);
  cfm::RandomBackboneFiles files = cfm::write_random_backbones((dir / "weights").string(), preset, 1);
  cfm::BackboneConfig config = cfm::backbone_preset(preset);
  config.vit_weights = files.vit;
  config.point_mae_weights = files.point_mae;
  const at::Device device = cfm::parse_compute_device(device_name);
  cfm::reset_peak_gpu_memory(device);
  cfm::FeatureExtractor extractor(config, device);
  cfm::Dataset dataset(data_dir);
  auto train = dataset.samples("cookie", "train");
  std::printf("preset %s (%s) on %s, %zu training samples\n", preset.c_str(), cfm::describe(config).c_str(),
              device_name.c_str(), train.size());

  cfm::TrainOptions options;
  options.epochs = 2;
  options.batch_size = 4;
  cfm::FeatureCache cache((dir / "cache").string(), config);
  cfm::CrossmodalMappers mappers =
      cfm::make_mappers(extractor.vit().dim(), extractor.point_mae().output_channels());
  cfm::TrainReport cached = cfm::train_mappers(mappers, extractor, cache, train, options);
  cfm::BackboneConfig official = config;
  official.mode = cfm::BackboneMode::Official;  // bypasses the cache: backbones run for every batch
  cfm::FeatureExtractor uncached_extractor(official, device);
  cfm::FeatureCache no_cache("", official);
  options.epochs = 1;
  cfm::TrainReport uncached = cfm::train_mappers(mappers, uncached_extractor, no_cache, train, options);
  std::printf(
      "epoch with cache (2nd epoch): %.2f s; without cache (backbones every batch): %.2f s; ratio %.1fx\n",
      cached.epoch_seconds[1], uncached.epoch_seconds[0],
      uncached.epoch_seconds[0] / cached.epoch_seconds[1]);

  std::vector<cfm::AlignedFeatures> batch;
  for (std::size_t i = 0; i < std::min<std::size_t>(4, train.size()); ++i) {
    cfm::SampleTensors s = cfm::load_sample(train[i], config.grid, config.vit.image_size);
    batch.push_back(extractor.align(cache.outputs(extractor, train[i], s.rgb, s.cloud)));
  }
  auto time_loss = [&](auto&& fn, double& loss) {
    auto t = std::chrono::steady_clock::now();
    at::Tensor l = fn(mappers, batch);
    l.backward();
    loss = l.item<double>();
    return since(t);
  };
  double full_loss = 0, masked_loss = 0;
  double full = time_loss(full_pixel_loss, full_loss), masked = time_loss(masked_pixel_loss, masked_loss);
  std::printf(
      "one batch forward+backward: every pixel %.3f s, loss pixels only %.3f s (%.1fx); losses %.7f vs %.7f "
      "(diff %.1e)\n",
      full, masked, full / masked, full_loss, masked_loss, std::abs(full_loss - masked_loss));

  auto t = std::chrono::steady_clock::now();
  cfm::CategoryEvaluation e = cfm::evaluate_category(
      mappers, extractor, cache, dataset.samples("cookie", "test"), (dir / "eval").string());
  double eval_seconds = since(t);
  std::printf(
      "inference: %.3f s per sample incl. cached backbones (%.2f fps); whole test split %.1f s; peak RSS "
      "%.0f MB\n",
      e.seconds_per_sample, 1.0 / e.seconds_per_sample, eval_seconds, peak_rss_mb());
  if (auto gpu = cfm::peak_gpu_memory_bytes(device))
    std::printf("peak GPU memory: %.0f MB\n", static_cast<double>(*gpu) / 1e6);
  fs::remove_all(dir);
  return 0;
}
