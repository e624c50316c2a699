#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <memory>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "backbone_options.h"
#include "common/cfm/evaluator.h"
#include "common/cfm/trainer.h"
#include "commands.h"
#include "common/data/few_shot.h"
#include "common/models/compute_device.h"
#include "common/util/error.h"

namespace fs = std::filesystem;

namespace cfm::cli {
namespace {

struct RunFlags {
  std::string data, category, out, cache;
  BackboneFlags backbone;
  TrainOptions train;
};

void add_run_options(CLI::App* cmd, RunFlags& f) {
  cmd->add_option("--data", f.data, "Dataset root (MVTec 3D-AD layout, preprocessed)")->required();
  cmd->add_option("--category", f.category, "Category folder")->required();
  cmd->add_option("--out", f.out, "Output folder")->required();
  cmd->add_option("--cache", f.cache, "Feature cache folder (eval mode; default <out>/../feature-cache)");
  cmd->add_option("--epochs", f.train.epochs, "Epochs (also part of the checkpoint names)")->capture_default_str();
  cmd->add_option("--batch-size", f.train.batch_size, "Samples per batch (also part of the checkpoint names)")->capture_default_str();
  add_backbone_options(cmd, f.backbone);
}

std::string cache_folder(const RunFlags& f) {
  return f.cache.empty() ? (fs::path(f.out).parent_path() / "feature-cache").string() : f.cache;
}

void print_table(const Evaluation& e) {
  fmt::print("{}", evaluation_table(e));
  if (!e.i_auroc) fmt::print("I-AUROC is undefined: the test split holds only {} samples\n", e.anomalous_images ? "anomalous" : "good");
}

}  // namespace

void add_train_eval_commands(CLI::App& app) {
  auto t = std::make_shared<RunFlags>();
  auto shots = std::make_shared<std::size_t>(0);
  auto split_seed = std::make_shared<std::uint64_t>(0);
  t->backbone.seed = 115;  // the official training seed
  CLI::App* train = app.add_subcommand("train", "Train the two crossmodal mapping networks on a category's nominal samples");
  add_run_options(train, *t);
  train->add_option("--lr", t->train.learning_rate, "Adam learning rate")->capture_default_str();
  train->add_option("--shots", *shots, "Few-shot: train on k samples (0 = all)");
  train->add_option("--split-seed", *split_seed, "Seed of the few-shot selection")->capture_default_str();
  train->callback([t, shots, split_seed] {
    BackboneConfig config = resolve(t->backbone);
    at::set_num_threads(static_cast<int>(t->backbone.threads));
    t->train.seed = config.seed;
    fmt::print("backbones: {}\n", describe(config));
    std::vector<SampleFiles> samples = Dataset(t->data).samples(t->category, "train");
    if (*shots) samples = select_few_shot(samples, *shots, *split_seed);
    FeatureExtractor extractor(config, parse_compute_device(t->backbone.device));
    FeatureCache cache(cache_folder(*t), config);
    CrossmodalMappers mappers = make_mappers(extractor.vit().dim(), extractor.point_mae().output_channels(), config.seed);
    TrainReport report = train_mappers(mappers, extractor, cache, samples, t->train, [&](int epoch, double loss) {
      fmt::print("epoch {}/{}: loss {:.5f}\n", epoch, t->train.epochs, loss);
      std::fflush(stdout);
    });
    fs::create_directories(t->out);
    for (auto [direction, network] : {std::pair{"2Dto3D", &mappers.to_3d}, std::pair{"3Dto2D", &mappers.to_2d}})
      save_mapping_network(*network, (fs::path(t->out) / mapping_checkpoint_name(direction, t->category, t->train.epochs, t->train.batch_size)).string());
    nlohmann::json j = {{"category", t->category}, {"backbones", describe(config)}, {"epochs", t->train.epochs},
                        {"batch_size", t->train.batch_size}, {"lr", t->train.learning_rate}, {"seed", t->train.seed},
                        {"train_files", sample_names(samples)}, {"epoch_loss", report.epoch_loss},
                        {"epoch_seconds", report.epoch_seconds}, {"cache_hits", cache.hits()}, {"cache_misses", cache.misses()}};
    std::ofstream(fs::path(t->out) / "train.json") << j.dump(2) << "\n";
    fmt::print("trained on {} samples; mappers in {}\n", samples.size(), t->out);
  });

  auto e = std::make_shared<RunFlags>();
  auto mappers_dir = std::make_shared<std::string>();
  auto exact = std::make_shared<bool>(false);
  e->backbone.seed = 42;  // the official inference seed
  CLI::App* eval = app.add_subcommand("eval", "Score a category's test split with trained mapping networks and print its metrics");
  add_run_options(eval, *e);
  eval->add_option("--mappers", *mappers_dir, "Folder with CFM_2Dto3D_<class>_<E>ep_<B>bs.pth and its twin")->required();
  eval->add_flag("--exact", *exact, "AU-PRO over every threshold instead of the official 99");
  eval->callback([e, mappers_dir, exact] {
    BackboneConfig config = resolve(e->backbone);
    at::set_num_threads(static_cast<int>(e->backbone.threads));
    fmt::print("backbones: {}\n", describe(config));
    std::vector<SampleFiles> test = Dataset(e->data).samples(e->category, "test");
    FeatureExtractor extractor(config, parse_compute_device(e->backbone.device));
    FeatureCache cache(cache_folder(*e), config);
    auto checkpoint = [&](const char* direction) {
      return (fs::path(*mappers_dir) / mapping_checkpoint_name(direction, e->category, e->train.epochs, e->train.batch_size)).string();
    };
    CrossmodalMappers mappers{load_mapping_network(checkpoint("2Dto3D")), load_mapping_network(checkpoint("3Dto2D"))};
    if (mappers.to_3d->in_features() != extractor.vit().dim() || mappers.to_3d->out_features() != extractor.point_mae().output_channels())
      throw UsageError(fmt::format("the mappers map {} -> {} channels but the backbones give {} (RGB) and {} (3D)",
                                   mappers.to_3d->in_features(), mappers.to_3d->out_features(), extractor.vit().dim(),
                                   extractor.point_mae().output_channels()));
    EvaluationOptions options;
    options.exact = *exact;
    fs::create_directories(e->out);
    CategoryEvaluation result = evaluate_category(mappers, extractor, cache, test, e->out, options);
    fmt::print("{} test samples ({} anomalous), {:.3f} s per sample\n", result.metrics.images, result.metrics.anomalous_images,
               result.seconds_per_sample);
    print_table(result.metrics);
  });
}

}  // namespace cfm::cli
