// Benchmark (not a test): how a method's inference cost grows with the training set -- the paper's
// efficiency claim as a curve. CFM keeps two mapping networks whose size does not depend on the training
// set; a memory bank (M3DM-style, docs/method.md §11) keeps a coreset of every training sample's patches and
// searches it for every test patch. For N training samples, at MVTec 3D-AD feature widths and with the
// backbones left out (they cost both methods the same): seconds per test sample of scoring (CFM: both
// networks on the pixels with a 3D point, the discrepancies, the smoothing -- map_sample, as a job; memory
// bank: nearest-neighbour search, re-weighting and map of both modalities -- score_modality, as a job) and
// the bytes the method keeps.
//
//   build/bench/cfm_scaling_benchmark [--train 20,50,100,200,400] [--samples 2] [--kept 0.6] [--coreset 0.1]
//                                     [--threads T] [--device cuda:0]
// On a GPU (a CUDA build; scripts/device/gpu_check.sh runs it) the features, networks and banks live on
// the device; every timed sample ends reading a score back, which waits for the device.
//
// Feature sizes: 224 x 224 pixel grid with C = 768 (RGB) and 1152 (3D); per sample 28 x 28 ViT patches
// (768) and 56 x 56 3D patches (1152); each bank keeps `coreset` of its patches (the per_bank recipe).
// Features are random (normalised as the methods normalise them): the cost does not depend on the values.
#include <torch/torch.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "common/cfm/evaluator.h"
#include "common/cfm/mapping_network.h"
#include "common/cfm/scorer.h"
#include "common/memory_bank/patch_scoring.h"
#include "common/runtime/compute_device.h"
#include "common/runtime/compute_process.h"
#include "common/runtime/thread_policy.h"

namespace {

constexpr int kGrid = 224, kRgbSide = 28, kPointSide = 56;
constexpr std::int64_t kRgbWidth = 768, kPointWidth = 1152;

at::Device g_device = at::kCPU;

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

at::Tensor unit_rows(std::int64_t rows, std::int64_t width) {
  return torch::nn::functional::normalize(
      torch::randn({rows, width}, torch::TensorOptions().device(g_device)),
      torch::nn::functional::NormalizeFuncOptions().dim(1));
}

// CFM: seconds per test sample; the networks do not change with the training set.
double cfm_seconds(cfm::CrossmodalMappers& mappers, int samples, double kept) {
  torch::NoGradGuard no_grad;
  const std::int64_t pixels = static_cast<std::int64_t>(kGrid) * kGrid;
  const auto on = torch::TensorOptions().device(g_device);
  cfm::AlignedFeatures features{torch::randn({pixels, kRgbWidth}, on),
                                torch::randn({pixels, kPointWidth}, on), torch::rand({pixels}, on) >= kept};
  cfm::map_sample(mappers, features, kGrid);  // warm-up
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < samples; ++i)
    (void)cfm::map_sample(mappers, features, kGrid).combined.sum().item<float>();
  return seconds_since(start) / samples;
}

// Memory bank with N training samples: seconds per test sample and the banks' bytes.
std::pair<double, double> bank_cost(int train, int samples, double coreset) {
  torch::NoGradGuard no_grad;
  const auto rows = [&](int side) { return static_cast<std::int64_t>(coreset * train * side * side); };
  at::Tensor point_bank = unit_rows(rows(kPointSide), kPointWidth),
             rgb_bank = unit_rows(rows(kRgbSide), kRgbWidth);
  at::Tensor point_patches = unit_rows(kPointSide * kPointSide, kPointWidth);
  at::Tensor rgb_patches = unit_rows(kRgbSide * kRgbSide, kRgbWidth);
  auto score = [&] {
    return cfm::score_modality(point_patches, point_bank, kPointSide, kGrid).image_score +
           cfm::score_modality(rgb_patches, rgb_bank, kRgbSide, kGrid).image_score;
  };
  score();  // warm-up
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < samples; ++i) score();
  const double bytes = static_cast<double>(point_bank.numel() + rgb_bank.numel()) * 4;
  return {seconds_since(start) / samples, bytes};
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<int> train_sizes = {20, 50, 100, 200, 400};
  int samples = 2, threads = 0;
  std::string device = "cpu";
  double kept = 0.6, coreset = 0.1;
  CLI::App app("inference cost against the training-set size: CFM vs a memory bank");
  app.add_option("--train", train_sizes, "Training-set sizes")->delimiter(',')->capture_default_str();
  app.add_option("--samples", samples, "Test samples timed per size")->capture_default_str();
  app.add_option("--kept", kept, "Share of pixels with a 3D point (CFM scores those)")->capture_default_str();
  app.add_option("--coreset", coreset, "Share of patches each bank keeps")->capture_default_str();
  app.add_option("--threads", threads, "Compute threads (0: every core)")->capture_default_str();
  app.add_option("--device", device, "cpu or cuda:N (a CUDA build)")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  try {
    g_device = cfm::parse_compute_device(device);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cfm_scaling_benchmark: %s\n", e.what());
    return 2;
  }
  const cfm::ThreadPolicy policy = cfm::choose_thread_policy(threads);
  cfm::prepare_compute_process(policy);
  torch::manual_seed(0);
  cfm::CrossmodalMappers mappers = cfm::make_mappers(kRgbWidth, kPointWidth);
  mappers.to_3d->to(g_device);
  mappers.to_2d->to(g_device);
  double cfm_bytes = 0;
  for (auto* network : {&mappers.to_3d, &mappers.to_2d})
    for (const auto& p : (*network)->parameters()) cfm_bytes += static_cast<double>(p.numel()) * 4;
  const double cfm_time = cfm_seconds(mappers, samples, kept);
  std::printf("%s, %s\nCFM: %.3f s per test sample, %.1f MB of networks, whatever the training set\n",
              cfm::describe(policy).c_str(), device.c_str(), cfm_time, cfm_bytes / 1e6);
  std::printf("%8s %14s %10s %18s %16s\n", "train", "bank s/sample", "bank MB", "bank / CFM time",
              "bank / CFM MB");
  for (int train : train_sizes) {
    auto [seconds, bytes] = bank_cost(train, samples, coreset);
    std::printf("%8d %14.3f %10.1f %18.2f %16.1f\n", train, seconds, bytes / 1e6, seconds / cfm_time,
                bytes / cfm_bytes);
    std::fflush(stdout);
  }
  return 0;
}
