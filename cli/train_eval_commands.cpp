#include <ATen/Parallel.h>
#include <fmt/format.h>
#include <torch/torch.h>

#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>

#include "backbone_options.h"
#include "commands.h"
#include "common/cfm/cfm_method.h"
#include "common/data/few_shot.h"
#include "common/distributed/rank_group.h"
#include "common/runtime/compute_device.h"
#include "common/runtime/compute_process.h"
#include "common/runtime/precision.h"
#include "common/runtime/thread_policy.h"
#include "common/util/error.h"
#include "common/util/whole_file.h"
#include "rank_options.h"

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
  auto ranks = std::make_shared<RankSetup>();
  CLI::App* train = app.add_subcommand(
      "train", "Train the two crossmodal mapping networks on a category's nominal samples");
  add_run_options(
      train, *t,
      {"epochs", "batch_size", "lr", "seed", "shots", "split_seed", "threads", "mapper", "precision"},
      {{"layers_kept", {"--layers"}}});
  add_rank_options(train, *ranks);
  train->callback([t, ranks] {
    CategoryJobSettings settings = resolve(t->settings);
    prepare_compute_process(choose_thread_policy(settings.training.threads));
    fmt::print("backbones: {}\n", describe(settings.backbone));
    std::vector<SampleFiles> samples = training_samples(Dataset(t->data), t->category, settings.training);
    const at::Device device = parse_compute_device(t->settings.device);
    const PrecisionScope precision(parse_precision(settings.training.precision), device);
    CfmMethod method(settings, t->category, device, cache_folder(*t));
    RankGroup group(*ranks, device);
    method.use_ranks(&group);
    FitResult fit = method.fit(samples, t->out, [&](int epoch, double loss) {
      fmt::print("epoch {}/{}: loss {:.5f}\n", epoch, settings.training.epochs, loss);
      std::fflush(stdout);
    });
    nlohmann::json j = {{"category", t->category},
                        {"backbones", describe(settings.backbone)},
                        {"epochs", settings.training.epochs},
                        {"batch_size", settings.training.batch_size},
                        {"lr", settings.training.lr},
                        {"mapper", settings.training.mapper},
                        {"seed", settings.training.seed},
                        {"train_files", sample_names(samples)},
                        {"epoch_loss", fit.epoch_loss},
                        {"epoch_seconds", fit.epoch_seconds},
                        {"cache_hits", method.cache_counts().hits},
                        {"cache_misses", method.cache_counts().misses},
                        {"world_size", group.world_size()},
                        {"communication_seconds", fit.communication_seconds}};
    if (!group.is_root()) return;  // rank 0 writes what the ranks trained together
    write_whole_file((fs::path(t->out) / "train.json").string(), j.dump(2) + "\n");
    fmt::print("trained on {} samples; mappers in {}\n", samples.size(), t->out);
  });

  auto e = std::make_shared<RunFlags>();
  auto mappers_dir = std::make_shared<std::string>();
  auto exact = std::make_shared<bool>(false);
  CLI::App* eval = app.add_subcommand(
      "eval", "Score a category's test split with trained mapping networks and print its metrics");
  add_run_options(eval, *e,
                  {"epochs", "batch_size", "eval_seed", "threads", "mapper", "infer_batch_size", "precision"},
                  {{"layers_kept", {"--layers"}}, {"eval_seed", {"--seed"}}});
  eval->add_option("--mappers", *mappers_dir, "Folder with CFM_2Dto3D_<class>_<E>ep_<B>bs.pth and its twin")
      ->required();
  eval->add_flag("--exact", *exact, "AU-PRO over every threshold instead of the official 99");
  auto eval_ranks = std::make_shared<RankSetup>();
  add_rank_options(eval, *eval_ranks);
  eval->callback([e, mappers_dir, exact, eval_ranks] {
    CategoryJobSettings settings = resolve(e->settings);
    prepare_compute_process(choose_thread_policy(settings.training.threads));
    fmt::print("backbones: {}\n", describe(settings.backbone));
    std::vector<SampleFiles> test = Dataset(e->data).samples(e->category, "test");
    const at::Device device = parse_compute_device(e->settings.device);
    const PrecisionScope precision(parse_precision(settings.training.precision), device);
    CfmMethod method(settings, e->category, device, cache_folder(*e));
    method.load(*mappers_dir);
    RankGroup group(*eval_ranks, device);
    method.use_ranks(&group);
    EvaluationOptions options;
    options.exact = *exact;
    CategoryEvaluation result = method.evaluate(test, e->out, options, true);
    if (!group.is_root()) return;  // rank 0 gathered every map and reports the metrics
    fmt::print("{} test samples ({} anomalous), {:.3f} s per sample\n", result.metrics.images,
               result.metrics.anomalous_images, result.seconds_per_sample);
    print_table(result.metrics);
  });
}

}  // namespace cfm::cli
