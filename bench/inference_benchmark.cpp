// Benchmark (not a test): CFM inference throughput on one device, full-size random backbones, for the
// full and pruned backbones at batch 1 and batch B: frames per second of the whole scoring path
// (ViT + Point-MAE + alignment + both networks + scoring and smoothing) and the peak GPU memory.
// scripts/device/gpu_check.sh runs it on a lent GPU; the paper reports ~21.8 fps and ~438 MB on its GPU.
//
//   build/bench/cfm_inference_benchmark [--device cuda:0] [--layers 12,4] [--batches 1,8] [--samples 16]
//                                       [--precision fp32|tf32|bf16]
//
// Batch B: B samples go through the scoring path together as in a job with infer_batch_size B (the ViT,
// Point-MAE's sampling, encoder and blocks, the networks and the smoothing on the batch; the neighbour
// search and the alignment per sample). Inputs are prepared on the CPU first and moved to the device with
// the samples, as a job does; per-stage times synchronise the device between stages.
#include <torch/torch.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "bench/synthetic_category.h"
#include "common/cfm/evaluator.h"
#include "common/cfm/scorer.h"
#include "common/features/random_backbones.h"
#include "common/features/sample_loader.h"
#include "common/runtime/compute_device.h"
#include "common/runtime/compute_process.h"
#include "common/runtime/precision.h"
#include "common/runtime/thread_policy.h"

namespace fs = std::filesystem;

namespace {

void synchronise(const at::Device& device) {
  if (device.is_cuda()) torch::cuda::synchronize(device.index());
}

// Seconds of each stage of the scoring path, summed over the samples.
struct StageSeconds {
  double backbones = 0, alignment = 0, scoring = 0;
  double total() const { return backbones + alignment + scoring; }
};

// Scores every sample in groups of `batch` as a job does (FeatureExtractor::extract_batch, align,
// map_samples, the maps back on the host), synchronising the device between stages to time them.
StageSeconds score_all(cfm::FeatureExtractor& extractor, cfm::CrossmodalMappers& mappers,
                       const std::vector<cfm::SampleTensors>& samples, int batch) {
  torch::NoGradGuard no_grad;
  const at::Device device = extractor.device();
  StageSeconds seconds;
  auto lap = [&, last = std::chrono::steady_clock::now()](double& stage) mutable {
    synchronise(device);
    const auto now = std::chrono::steady_clock::now();
    stage += std::chrono::duration<double>(now - last).count();
    last = now;
  };
  double ignored = 0;
  lap(ignored);
  for (std::size_t first = 0; first < samples.size(); first += static_cast<std::size_t>(batch)) {
    const std::size_t end = std::min(samples.size(), first + static_cast<std::size_t>(batch));
    std::vector<at::Tensor> images, clouds;
    for (std::size_t i = first; i < end; ++i) {
      images.push_back(samples[i].rgb);
      clouds.push_back(samples[i].cloud);
    }
    std::vector<cfm::BackboneOutputs> outputs = extractor.extract_batch(images, clouds);
    lap(seconds.backbones);
    std::vector<cfm::AlignedFeatures> aligned;
    for (const cfm::BackboneOutputs& o : outputs) aligned.push_back(extractor.align(o));
    lap(seconds.alignment);
    for (cfm::AnomalyMaps& maps : cfm::map_samples(mappers, aligned, extractor.config().grid))
      (void)maps.combined.cpu();  // the maps on the host, as a job writes them
    lap(seconds.scoring);
  }
  return seconds;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"cfm inference benchmark: fps and peak GPU memory, full and pruned backbones"};
  std::string device_name = "cpu";
  std::vector<int> layer_counts = {12, 4}, batches = {1, 8};
  std::string precision_name = "fp32";
  int samples = 16, threads = 0;
  app.add_option("--device", device_name, "cpu or cuda:N")->capture_default_str();
  app.add_option("--layers", layer_counts, "Backbone blocks kept, comma-separated")
      ->delimiter(',')
      ->capture_default_str();
  app.add_option("--batches", batches, "Inference batch sizes, comma-separated")
      ->delimiter(',')
      ->capture_default_str();
  app.add_option("--samples", samples, "Samples scored per measurement")->capture_default_str();
  app.add_option("--threads", threads, "CPU compute threads (0: cfm's policy)")->capture_default_str();
  app.add_option("--precision", precision_name, "fp32, tf32 (CUDA) or bf16")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  const cfm::ThreadPolicy policy = cfm::choose_thread_policy(threads);
  cfm::prepare_compute_process(policy);
  const at::Device device = cfm::parse_compute_device(device_name);

  const fs::path dir = fs::temp_directory_path() / "cfm-inference-bench";
  fs::remove_all(dir);
  const std::string data_dir = cfm::bench::write_synthetic_category((dir / "data").string(), samples);
  cfm::RandomBackboneFiles files = cfm::write_random_backbones((dir / "weights").string(), "paper", 1);
  std::vector<cfm::SampleTensors> tensors;
  for (const cfm::SampleFiles& s : cfm::Dataset(data_dir).samples("cookie", "train"))
    tensors.push_back(cfm::load_sample(s, 224, 224));
  const cfm::PrecisionScope precision(cfm::parse_precision(precision_name), device);  // after the setup
  std::printf("device %s, precision %s, %d samples per measurement, CPU threads: %s\n", device_name.c_str(),
              precision_name.c_str(), samples, cfm::describe(policy).c_str());

  for (int layers : layer_counts) {
    cfm::BackboneConfig config = cfm::backbone_preset("paper");
    config.vit_weights = files.vit;
    config.point_mae_weights = files.point_mae;
    config.layers_kept = layers;
    cfm::FeatureExtractor extractor(config, device);
    cfm::CrossmodalMappers mappers =
        cfm::make_mappers(extractor.vit().dim(), extractor.point_mae().output_channels());
    mappers.to_3d->to(device);
    mappers.to_2d->to(device);
    mappers.to_3d->eval();
    mappers.to_2d->eval();
    for (int batch : batches) {
      score_all(extractor, mappers, {tensors.begin(), tensors.begin() + std::min<int>(batch, samples)},
                batch);
      cfm::reset_peak_gpu_memory(device);
      const StageSeconds seconds = score_all(extractor, mappers, tensors, batch);
      std::string memory = "";
      if (auto peak = cfm::peak_gpu_memory_bytes(device))
        memory = ", peak GPU memory " + std::to_string(*peak / 1000000) + " MB";
      auto per_sample = [&](double s) { return 1000 * s / samples; };
      std::printf(
          "layers %2d, batch %d: %.2f fps (%.1f ms per sample: backbones %.1f, alignment %.1f, "
          "networks and scoring %.1f)%s\n",
          layers, batch, samples / seconds.total(), per_sample(seconds.total()),
          per_sample(seconds.backbones), per_sample(seconds.alignment), per_sample(seconds.scoring),
          memory.c_str());
    }
  }
  fs::remove_all(dir);
  return 0;
}
