#include <ATen/Parallel.h>
#include <fmt/format.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>

#include "backbone_options.h"
#include "commands.h"
#include "common/cfm/evaluator.h"
#include "common/cfm/trainer.h"
#include "common/data/few_shot.h"
#include "common/models/compute_device.h"
#include "common/util/error.h"

namespace fs = std::filesystem;

namespace cfm::cli {
namespace {

struct RunFlags {
  std::string data, category, out, cache;
  SettingFlags settings;
};

// `settings`: the Training settings this command takes besides the backbone ones.
void add_run_options(CLI::App* cmd, RunFlags& f, const std::vector<std::string>& settings,
                     const std::map<std::string, std::vector<std::string>>& aliases) {
  cmd->add_option("--data", f.data, "Dataset root (MVTec 3D-AD layout, preprocessed)")->required();
  cmd->add_option("--category", f.category, "Category folder")->required();
  cmd->add_option("--out", f.out, "Output folder")->required();
  cmd->add_option("--cache", f.cache, "Feature cache folder (eval mode; default <out>/../feature-cache)");
  std::vector<std::string> names = backbone_setting_names();
  names.insert(names.end(), settings.begin(), settings.end());
  add_setting_options(cmd, f.settings, names, aliases);
}

TrainOptions train_options(const TrainingSettings& t) {
  TrainOptions o;
  o.epochs = t.epochs;
  o.batch_size = t.batch_size;
  o.learning_rate = t.lr;
  o.seed = static_cast<std::uint64_t>(t.seed);
  return o;
}

std::string cache_folder(const RunFlags& f) {
  return f.cache.empty() ? (fs::path(f.out).parent_path() / "feature-cache").string() : f.cache;
}

void print_table(const Evaluation& e) {
  fmt::print("{}", evaluation_table(e));
  if (!e.i_auroc)
    fmt::print("I-AUROC is undefined: the test split holds only {} samples\n",
               e.anomalous_images ? "anomalous" : "good");
}

}  // namespace

void add_train_eval_commands(CLI::App& app) {
  auto t = std::make_shared<RunFlags>();
  CLI::App* train = app.add_subcommand(
      "train", "Train the two crossmodal mapping networks on a category's nominal samples");
  add_run_options(train, *t, {"epochs", "batch_size", "lr", "seed", "shots", "split_seed", "threads"},
                  {{"layers_kept", {"--layers"}}});
  train->callback([t] {
    CfmSettings settings = resolve(t->settings);
    TrainOptions options = train_options(settings.training);
    BackboneConfig config = settings.backbone;
    config.seed = options.seed;  // the training seed also drives official-mode DropPath
    at::set_num_threads(settings.training.threads);
    fmt::print("backbones: {}\n", describe(config));
    std::vector<SampleFiles> samples = Dataset(t->data).samples(t->category, "train");
    if (settings.training.shots > 0)
      samples = select_few_shot(samples, static_cast<std::size_t>(settings.training.shots),
                                static_cast<std::uint64_t>(settings.training.split_seed));
    FeatureExtractor extractor(config, parse_compute_device(t->settings.device));
    FeatureCache cache(cache_folder(*t), config);
    CrossmodalMappers mappers =
        make_mappers(extractor.vit().dim(), extractor.point_mae().output_channels(), config.seed);
    TrainReport report =
        train_mappers(mappers, extractor, cache, samples, options, [&](int epoch, double loss) {
          fmt::print("epoch {}/{}: loss {:.5f}\n", epoch, options.epochs, loss);
          std::fflush(stdout);
        });
    fs::create_directories(t->out);
    for (auto [direction, network] :
         {std::pair{"2Dto3D", &mappers.to_3d}, std::pair{"3Dto2D", &mappers.to_2d}})
      save_mapping_network(
          *network, (fs::path(t->out) /
                     mapping_checkpoint_name(direction, t->category, options.epochs, options.batch_size))
                        .string());
    nlohmann::json j = {{"category", t->category},
                        {"backbones", describe(config)},
                        {"epochs", options.epochs},
                        {"batch_size", options.batch_size},
                        {"lr", options.learning_rate},
                        {"seed", options.seed},
                        {"train_files", sample_names(samples)},
                        {"epoch_loss", report.epoch_loss},
                        {"epoch_seconds", report.epoch_seconds},
                        {"cache_hits", cache.hits()},
                        {"cache_misses", cache.misses()}};
    std::ofstream(fs::path(t->out) / "train.json") << j.dump(2) << "\n";
    fmt::print("trained on {} samples; mappers in {}\n", samples.size(), t->out);
  });

  auto e = std::make_shared<RunFlags>();
  auto mappers_dir = std::make_shared<std::string>();
  auto exact = std::make_shared<bool>(false);
  CLI::App* eval = app.add_subcommand(
      "eval", "Score a category's test split with trained mapping networks and print its metrics");
  add_run_options(eval, *e, {"epochs", "batch_size", "eval_seed", "threads"},
                  {{"layers_kept", {"--layers"}}, {"eval_seed", {"--seed"}}});
  eval->add_option("--mappers", *mappers_dir, "Folder with CFM_2Dto3D_<class>_<E>ep_<B>bs.pth and its twin")
      ->required();
  eval->add_flag("--exact", *exact, "AU-PRO over every threshold instead of the official 99");
  eval->callback([e, mappers_dir, exact] {
    CfmSettings settings = resolve(e->settings);
    BackboneConfig config = settings.backbone;
    config.seed = static_cast<std::uint64_t>(settings.training.eval_seed);  // official-mode DropPath
    at::set_num_threads(settings.training.threads);
    fmt::print("backbones: {}\n", describe(config));
    std::vector<SampleFiles> test = Dataset(e->data).samples(e->category, "test");
    FeatureExtractor extractor(config, parse_compute_device(e->settings.device));
    FeatureCache cache(cache_folder(*e), config);
    auto checkpoint = [&](const char* direction) {
      return (fs::path(*mappers_dir) / mapping_checkpoint_name(direction, e->category,
                                                               settings.training.epochs,
                                                               settings.training.batch_size))
          .string();
    };
    CrossmodalMappers mappers{load_mapping_network(checkpoint("2Dto3D")),
                              load_mapping_network(checkpoint("3Dto2D"))};
    if (mappers.to_3d->in_features() != extractor.vit().dim() ||
        mappers.to_3d->out_features() != extractor.point_mae().output_channels())
      throw UsageError(
          fmt::format("the mappers map {} -> {} channels but the backbones give {} (RGB) and {} (3D)",
                      mappers.to_3d->in_features(), mappers.to_3d->out_features(), extractor.vit().dim(),
                      extractor.point_mae().output_channels()));
    EvaluationOptions options;
    options.exact = *exact;
    fs::create_directories(e->out);
    CategoryEvaluation result = evaluate_category(mappers, extractor, cache, test, e->out, options);
    fmt::print("{} test samples ({} anomalous), {:.3f} s per sample\n", result.metrics.images,
               result.metrics.anomalous_images, result.seconds_per_sample);
    print_table(result.metrics);
  });
}

}  // namespace cfm::cli
