// Benchmark (not a test): CFM inference throughput on one device, full-size random backbones, for the
// full and pruned backbones at batch 1 and batch B: frames per second of the whole scoring path
// (ViT + Point-MAE + alignment + both networks + scoring and smoothing) and the peak GPU memory.
// scripts/device/gpu_check.sh runs it on a lent GPU; the paper reports ~21.8 fps and ~438 MB on its GPU.
//
//   build/bench/cfm_inference_benchmark [--device cuda:0] [--layers 12,4] [--batches 1,8] [--samples 16]
//
// Batch B: the ViT runs on B images at once (VitBackbone::forward_batch); Point-MAE, alignment and
// scoring stay per sample (each cloud has its own number of points). Inputs are prepared on the CPU first
// and moved to the device with the samples, as a job does.
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
#include "common/runtime/thread_policy.h"

namespace fs = std::filesystem;

namespace {

void synchronise(const at::Device& device) {
  if (device.is_cuda()) torch::cuda::synchronize(device.index());
}

// Scores every sample in groups of `batch`; returns the seconds taken.
double score_all(cfm::FeatureExtractor& extractor, cfm::CrossmodalMappers& mappers,
                 const std::vector<cfm::SampleTensors>& samples, int batch) {
  torch::NoGradGuard no_grad;
  const at::Device device = extractor.device();
  synchronise(device);
  auto start = std::chrono::steady_clock::now();
  for (std::size_t first = 0; first < samples.size(); first += static_cast<std::size_t>(batch)) {
    const std::size_t end = std::min(samples.size(), first + static_cast<std::size_t>(batch));
    std::vector<at::Tensor> images;
    for (std::size_t i = first; i < end; ++i) images.push_back(samples[i].rgb);
    at::Tensor rgb_maps = extractor.vit().forward_batch(torch::stack(images).to(device));
    for (std::size_t i = first; i < end; ++i) {
      cfm::BackboneOutputs out = extractor.extract_points(samples[i].cloud);
      out.rgb_map = rgb_maps[static_cast<std::int64_t>(i - first)];
      cfm::AnomalyMaps maps = cfm::map_sample(mappers, extractor.align(out), extractor.config().grid);
      (void)maps.combined.sum().item<float>();  // the map is complete (and on the CPU) before the next
    }
  }
  synchronise(device);
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

std::vector<int> numbers(const std::string& list) {
  std::vector<int> out;
  std::size_t at = 0;
  while (at < list.size()) {
    std::size_t comma = list.find(',', at);
    out.push_back(std::stoi(list.substr(at, comma - at)));
    at = comma == std::string::npos ? list.size() : comma + 1;
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"cfm inference benchmark: fps and peak GPU memory, full and pruned backbones"};
  std::string device_name = "cpu", layers_list = "12,4", batches_list = "1,8";
  int samples = 16, threads = 0;
  app.add_option("--device", device_name, "cpu or cuda:N")->capture_default_str();
  app.add_option("--layers", layers_list, "Backbone blocks kept, comma-separated")->capture_default_str();
  app.add_option("--batches", batches_list, "ViT batch sizes, comma-separated")->capture_default_str();
  app.add_option("--samples", samples, "Samples scored per measurement")->capture_default_str();
  app.add_option("--threads", threads, "CPU compute threads (0: cfm's policy)")->capture_default_str();
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
  std::printf("device %s, %d samples per measurement, CPU threads: %s\n", device_name.c_str(), samples,
              cfm::describe(policy).c_str());

  for (int layers : numbers(layers_list)) {
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
    for (int batch : numbers(batches_list)) {
      score_all(extractor, mappers, {tensors.begin(), tensors.begin() + std::min<int>(batch, samples)},
                batch);
      cfm::reset_peak_gpu_memory(device);
      const double seconds = score_all(extractor, mappers, tensors, batch);
      std::string memory = "";
      if (auto peak = cfm::peak_gpu_memory_bytes(device))
        memory = ", peak GPU memory " + std::to_string(*peak / 1000000) + " MB";
      std::printf("layers %2d, batch %d: %.2f fps (%.1f ms per sample)%s\n", layers, batch, samples / seconds,
                  1000 * seconds / samples, memory.c_str());
    }
  }
  fs::remove_all(dir);
  return 0;
}
