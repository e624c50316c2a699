// Benchmark (not a test): cfm's per-sample inference and per-sample-epoch training costs at paper size,
// on inputs that bench/official_pipeline.py then times the official code's steps on (the comparison:
// bench/official_comparison.sh, which prints the ratios).
//
//   build/bench/cfm_pipeline_benchmark --dir DIR [--samples N] [--epochs E] [--threads T] [--blas B
//   --intra-op I]
// (--blas/--intra-op set the two thread pools by hand instead of cfm's policy, e.g. 2/2 for what cfm did
// before it had one: LibTorch at the core count beside OpenBLAS' default.)
//
// Writes into DIR: weights/ (seeded random full-size backbones), data/ (a synthetic category, preprocessed),
// inputs/<i>/{rgb_input,cloud_input}.npy (the transformed training samples), mappers-initial/ (the mapping
// networks before training, official key layout), inputs/<i>/cfm_map.npy (the anomaly map cfm computes for
// each sample with the initial networks) and cfm_timings.json.
// Inference per sample: backbones + alignment + both networks + scoring and smoothing, from tensors in
// memory (file reading and map writing excluded, as in the official timing). Training: one batch of all N
// samples per epoch, so the loss of epoch 1 is the loss of the initial networks on the whole set -- the
// same number the official loop computes, whatever its shuffle.
#include <torch/torch.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "bench/synthetic_category.h"
#include "common/cfm/evaluator.h"
#include "common/cfm/scorer.h"
#include "common/cfm/trainer.h"
#include "common/features/random_backbones.h"
#include "common/features/sample_loader.h"
#include "common/runtime/compute_process.h"
#include "common/runtime/thread_policy.h"
#include "common/util/npy.h"
#include "common/util/whole_file.h"

namespace fs = std::filesystem;

namespace {

double since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

void save_npy(const fs::path& path, const at::Tensor& t) {
  at::Tensor c = t.to(torch::kFloat32).contiguous();
  std::vector<std::int64_t> shape(c.sizes().begin(), c.sizes().end());
  cfm::write_npy_f32(path.string(), shape, c.data_ptr<float>());
}

struct Stages {
  double vit = 0, point_mae = 0, align = 0, score = 0;
  double total() const { return vit + point_mae + align + score; }
};

// One sample through the inference pipeline, stage by stage.
at::Tensor infer(cfm::FeatureExtractor& extractor, cfm::CrossmodalMappers& mappers,
                 const cfm::SampleTensors& s, Stages& stages) {
  torch::NoGradGuard no_grad;
  auto t = std::chrono::steady_clock::now();
  cfm::BackboneOutputs out = extractor.extract(s.rgb, s.cloud);
  const double both = since(t);
  t = std::chrono::steady_clock::now();
  at::Tensor rgb_only = extractor.vit().forward(s.rgb);  // the ViT alone, to split the extraction time
  const double vit = since(t);
  stages.vit += vit;
  stages.point_mae += std::max(0.0, both - vit);
  t = std::chrono::steady_clock::now();
  cfm::AlignedFeatures aligned = extractor.align(out);
  stages.align += since(t);
  t = std::chrono::steady_clock::now();
  cfm::AnomalyMaps maps = cfm::map_sample(mappers, aligned, extractor.config().grid);
  stages.score += since(t);
  return maps.combined;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"cfm pipeline benchmark: inference and training per sample at paper size"};
  std::string dir_name;
  int samples = 4, epochs = 2, threads = 0, blas = 0, intra_op = 0;
  app.add_option("--dir", dir_name, "Output folder (made anew)")->required();
  app.add_option("--samples", samples, "Samples (one training batch)")->capture_default_str();
  app.add_option("--epochs", epochs, "Training epochs with the feature cache")->capture_default_str();
  app.add_option("--threads", threads, "Compute threads (0: cfm's automatic policy)")->capture_default_str();
  app.add_option("--blas", blas, "OpenBLAS threads, overriding the policy");
  app.add_option("--intra-op", intra_op, "LibTorch intra-op threads, overriding the policy");
  CLI11_PARSE(app, argc, argv);
  cfm::ThreadPolicy policy = cfm::choose_thread_policy(threads);
  if (blas > 0) policy.blas_threads = blas, policy.requested = true;
  if (intra_op > 0) policy.intra_op_threads = intra_op, policy.requested = true;
  cfm::prepare_compute_process(policy);
  const fs::path dir = dir_name;
  fs::remove_all(dir);

  const std::string data_dir = cfm::bench::write_synthetic_category((dir / "data").string(), samples);
  cfm::RandomBackboneFiles files = cfm::write_random_backbones((dir / "weights").string(), "paper", 1);
  cfm::BackboneConfig config = cfm::backbone_preset("paper");
  config.vit_weights = files.vit;
  config.point_mae_weights = files.point_mae;
  cfm::FeatureExtractor extractor(config);
  cfm::Dataset dataset(data_dir);
  const std::vector<cfm::SampleFiles> train = dataset.samples("cookie", "train");
  std::printf("threads: %s\n", cfm::describe(policy).c_str());

  cfm::CrossmodalMappers mappers =
      cfm::make_mappers(extractor.vit().dim(), extractor.point_mae().output_channels());
  fs::create_directories(dir / "mappers-initial");
  cfm::save_mapping_network(mappers.to_3d, (dir / "mappers-initial" / "CFM_2Dto3D.pth").string());
  cfm::save_mapping_network(mappers.to_2d, (dir / "mappers-initial" / "CFM_3Dto2D.pth").string());
  mappers.to_3d->eval();
  mappers.to_2d->eval();

  std::vector<cfm::SampleTensors> tensors;
  for (std::size_t i = 0; i < train.size(); ++i) {
    tensors.push_back(cfm::load_sample(train[i], config.grid, config.vit.image_size));
    fs::path folder = dir / "inputs" / std::to_string(i);
    fs::create_directories(folder);
    save_npy(folder / "rgb_input.npy", tensors.back().rgb);
    save_npy(folder / "cloud_input.npy", tensors.back().cloud);
  }
  Stages warm_up, stages;
  infer(extractor, mappers, tensors[0], warm_up);
  for (std::size_t i = 0; i < tensors.size(); ++i)
    save_npy(dir / "inputs" / std::to_string(i) / "cfm_map.npy",
             infer(extractor, mappers, tensors[i], stages));
  const double n = static_cast<double>(tensors.size());
  std::printf(
      "inference per sample %.3f s: ViT %.3f, Point-MAE (FPS, KNN incl.) %.3f, alignment %.3f, networks + "
      "scoring %.3f\n",
      stages.total() / n, stages.vit / n, stages.point_mae / n, stages.align / n, stages.score / n);

  // Training as cfm runs it: every sample's backbone outputs once (cached), then epochs on the networks.
  cfm::TrainOptions options;
  options.epochs = epochs;
  options.batch_size = samples;
  mappers.to_3d->train();
  mappers.to_2d->train();
  cfm::FeatureCache cache((dir / "cache").string(), config);
  auto t = std::chrono::steady_clock::now();
  cfm::TrainReport report = cfm::train_mappers(mappers, extractor, cache, train, options);
  const double total = since(t);
  const double later_epoch = report.epoch_seconds.back();
  std::printf(
      "training: %d epochs in %.2f s (backbone outputs %.2f s, last epoch %.3f s); loss epoch 1 %.7f, epoch "
      "2 %.7f\n",
      epochs, total, report.prepare_seconds, later_epoch, report.epoch_loss[0],
      report.epoch_loss.size() > 1 ? report.epoch_loss[1] : 0.0);
  nlohmann::json timings = {
      {"threads", cfm::describe(policy)},
      {"samples", samples},
      {"inference_seconds_per_sample", stages.total() / n},
      {"inference_stages",
       {{"vit", stages.vit / n},
        {"point_mae", stages.point_mae / n},
        {"align", stages.align / n},
        {"networks_and_scoring", stages.score / n}}},
      {"train_first_epoch_seconds_per_sample", (report.prepare_seconds + report.epoch_seconds[0]) / n},
      {"train_later_epoch_seconds_per_sample", later_epoch / n},
      {"train_epoch_loss", report.epoch_loss}};
  cfm::write_whole_file((dir / "cfm_timings.json").string(), timings.dump(2) + "\n");
  return 0;
}
