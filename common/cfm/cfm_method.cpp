#include "common/cfm/cfm_method.h"

#include <fmt/format.h>

#include <filesystem>
#include <numeric>

#include "common/cfm/trainer.h"
#include "common/distributed/rank_group.h"
#include "common/methods/method_registry.h"
#include "common/util/error.h"

namespace fs = std::filesystem;

namespace cfm {

CfmMethod::CfmMethod(const CategoryJobSettings& settings, std::string category, at::Device device,
                     const std::string& cache_dir)
    : settings_(settings),
      category_(std::move(category)),
      extractor_(settings.backbone, device),
      cache_(cache_dir, settings.backbone) {}

std::string CfmMethod::checkpoint_name(const std::string& direction) const {
  return mapping_checkpoint_name(direction, category_, settings_.training.epochs,
                                 settings_.training.batch_size);
}

FitResult CfmMethod::fit(const std::vector<SampleFiles>& train, const std::string& out_dir,
                         const std::function<void(int, double)>& progress) {
  const TrainingSettings& t = settings_.training;
  const auto seed = static_cast<std::uint64_t>(t.seed);  // initialisation, shuffling and DropPath
  extractor_.reseed(seed);
  mappers_ = make_mappers(extractor_.vit().dim(), extractor_.point_mae().output_channels(), seed,
                          parse_mapper_kind(t.mapper));
  TrainOptions options;
  options.epochs = t.epochs;
  options.batch_size = t.batch_size;
  options.learning_rate = t.lr;
  options.seed = seed;
  options.ranks = ranks_;
  FitResult result;
  const TrainReport report = train_mappers(*mappers_, extractor_, cache_, train, options, progress);
  result.epoch_loss = report.epoch_loss;
  result.epoch_seconds = report.epoch_seconds;
  result.communication_seconds = report.communication_seconds;
  // Eval mode: "extract" is reading the training samples and their backbone outputs (cache or backbones),
  // done once before the epochs. Official mode reruns the backbones inside every epoch.
  result.timings[settings_.backbone.mode == BackboneMode::Eval ? "extract" : "load"] = report.prepare_seconds;
  double train_seconds = std::accumulate(report.epoch_seconds.begin(), report.epoch_seconds.end(), 0.0);
  result.timings["train"] = train_seconds;
  result.timings["train_per_epoch"] = train_seconds / t.epochs;
  if (ranks_ && !ranks_->is_root()) return result;  // every rank holds the same weights: rank 0 saves them
  fs::create_directories(out_dir);
  for (auto [direction, network] :
       {std::pair{"2Dto3D", &mappers_->to_3d}, std::pair{"3Dto2D", &mappers_->to_2d}}) {
    fs::path path = fs::path(out_dir) / checkpoint_name(direction);
    save_mapping_network(*network, path.string());
    result.model_bytes += static_cast<std::int64_t>(fs::file_size(path));
    result.artifacts[std::string("checkpoint_") + direction] = path.string();
  }
  return result;
}

void CfmMethod::load(const std::string& dir) {
  auto path = [&](const char* direction) { return (fs::path(dir) / checkpoint_name(direction)).string(); };
  const MapperKind kind = parse_mapper_kind(settings_.training.mapper);
  CrossmodalMappers loaded{load_mapping_network(path("2Dto3D"), kind),
                           load_mapping_network(path("3Dto2D"), kind)};
  if (loaded.to_3d->in_features() != extractor_.vit().dim() ||
      loaded.to_3d->out_features() != extractor_.point_mae().output_channels())
    throw UsageError(
        fmt::format("the mappers map {} -> {} channels but the backbones give {} (RGB) and {} (3D)",
                    loaded.to_3d->in_features(), loaded.to_3d->out_features(), extractor_.vit().dim(),
                    extractor_.point_mae().output_channels()));
  mappers_ = std::move(loaded);
}

CategoryEvaluation CfmMethod::evaluate(const std::vector<SampleFiles>& test, const std::string& out_dir,
                                       const EvaluationOptions& options, bool use_cache) {
  CFM_ASSERT(mappers_.has_value());  // fit() or load() first
  extractor_.reseed(static_cast<std::uint64_t>(settings_.training.eval_seed));
  fs::create_directories(out_dir);
  FeatureCache no_cache("", settings_.backbone);
  return evaluate_category(*mappers_, extractor_, use_cache ? cache_ : no_cache, test, out_dir, options,
                           ranks_, settings_.training.infer_batch_size);
}

std::int64_t CfmMethod::parameter_count() {
  CFM_ASSERT(mappers_.has_value());
  std::int64_t n = 0;
  for (auto* net : {&mappers_->to_3d, &mappers_->to_2d})
    for (const auto& p : (*net)->parameters()) n += p.numel();
  return n;
}

void register_cfm_method() {
  register_category_method("cfm", [](const CategoryJobSettings& settings, const std::string& category,
                                     const at::Device& device, const std::string& cache_dir) {
    return std::make_unique<CfmMethod>(settings, category, device, cache_dir);
  });
}

}  // namespace cfm
