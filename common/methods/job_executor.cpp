#include "common/methods/job_executor.h"

#include <ATen/Parallel.h>
#include <fmt/format.h>
#include <sys/resource.h>
#include <torch/torch.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "common/data/dataset.h"
#include "common/data/few_shot.h"
#include "common/distributed/rank_group.h"
#include "common/methods/category_method.h"
#include "common/methods/method_registry.h"
#include "common/runtime/compute_device.h"
#include "common/runtime/compute_process.h"
#include "common/runtime/precision.h"
#include "common/runtime/thread_policy.h"
#include "common/settings/settings.h"
#include "common/util/error.h"
#include "common/util/stopwatch.h"

namespace fs = std::filesystem;

namespace cfm {
namespace {

std::int64_t peak_rss_bytes() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<std::int64_t>(usage.ru_maxrss) * 1024;  // Linux reports KiB
}

net::JobResult execute_noop(const nlohmann::json& c, const JobContext& context) {
  Stopwatch total;
  std::this_thread::sleep_for(std::chrono::milliseconds(c["sleep_ms"].get<long long>()));
  if (context.attempt <= c["fail_attempts"].get<int>())
    throw Error(fmt::format("noop job fails on purpose on attempt {} (fail_attempts = {})", context.attempt,
                            c["fail_attempts"].get<int>()));
  net::JobResult result;
  result.metrics["noop"] = 1.0;
  result.timings["total"] = total.seconds();
  result.resources.device = context.device;
  result.resources.peak_rss_bytes = peak_rss_bytes();
  return result;
}

// What a rank other than 0 reports (the worker adds it to rank 0's result under resources.ranks).
net::RankResources rank_resources(const JobContext& context, const at::Device& device, const RankGroup& ranks,
                                  const CategoryEvaluation& share) {
  net::RankResources r;
  r.rank = context.ranks.rank;
  r.device = context.device;
  r.peak_rss_bytes = peak_rss_bytes();
  r.peak_gpu_bytes = peak_gpu_memory_bytes(device);
  r.all_reduce_seconds = ranks.communication_seconds();
  r.infer_seconds = share.own_seconds;
  return r;
}

// A job of a method that runs the backbones on a category (cfm, memory_bank): fit, score the test split,
// record metrics, timings and resources.
JobReport execute_category_job(const nlohmann::json& c, const JobContext& context) {
  // The slot's device: backbones, mapping networks or banks and scoring run there, each sample from its
  // inputs to its maps. A CUDA slot in a CPU-only build fails the job with the reason.
  const at::Device device = parse_compute_device(context.device);
  reset_peak_gpu_memory(device);
  Stopwatch total, stage;
  const CategoryJobSettings settings = category_job_settings(c);
  const PrecisionScope precision(parse_precision(settings.training.precision), device);
  const ThreadPolicy threads = choose_thread_policy(settings.training.threads, context.sharing_processes);
  prepare_compute_process(threads);
  fmt::print("threads: {}\n", describe(threads));
  const std::string category = c["category"];
  net::JobResult result;
  std::map<std::string, double>& timings = result.timings;

  Dataset dataset(c["dataset"].get<std::string>());
  std::vector<SampleFiles> train = training_samples(dataset, category, settings.training);
  std::vector<SampleFiles> test = dataset.samples(category, "test");
  std::unique_ptr<CategoryMethod> method = make_category_method(
      c["method"], settings, category, device,
      context.cache_dir.empty() ? (fs::path(context.run_dir).parent_path() / "feature-cache").string()
                                : context.cache_dir);
  RankGroup ranks(context.ranks, device);
  method->use_ranks(&ranks);
  timings["load"] = stage.restart();

  FitResult fit = method->fit(train, context.run_dir);
  timings["fit"] = stage.restart();  // everything fitting took: features, training or banks
  for (const auto& [name, seconds] : fit.timings) timings[name] += seconds;
  result.artifacts = fit.artifacts;
  result.artifacts["run_dir"] = context.run_dir;

  // Test samples bypass the cache: inference_fps is then the full pipeline (backbones included) in every
  // job. With several ranks each scores its share; rank 0 gathers the maps and computes the metrics.
  fs::path eval_dir = fs::path(context.run_dir) / "eval";
  Stopwatch infer;
  CategoryEvaluation evaluation = method->evaluate(test, eval_dir.string(), {}, false);
  if (!ranks.is_root()) return rank_resources(context, device, ranks, evaluation);
  timings["infer"] = evaluation.seconds_per_sample * static_cast<double>(test.size());  // device seconds
  timings["metrics"] = evaluation.metrics_seconds;
  if (ranks.world_size() > 1) {
    timings["infer_wall"] = infer.seconds() - evaluation.metrics_seconds;  // the ranks at work together
    timings["all_reduce"] = ranks.communication_seconds();
  }
  timings["total"] = total.seconds();
  result.artifacts["maps"] = (eval_dir / "maps").string();
  result.artifacts["metrics_json"] = (eval_dir / "metrics.json").string();

  result.metrics = metric_values(evaluation.metrics);
  result.counts = {{"test_images", static_cast<std::int64_t>(evaluation.metrics.images)},
                   {"anomalous_images", static_cast<std::int64_t>(evaluation.metrics.anomalous_images)},
                   {"train_images", static_cast<std::int64_t>(train.size())}};
  net::JobResources& resources = result.resources;
  resources.device = context.device;
  resources.world_size = ranks.world_size();
  resources.peak_rss_bytes = peak_rss_bytes();
  resources.peak_gpu_bytes = peak_gpu_memory_bytes(device);
  resources.parameters = method->parameter_count();
  resources.model_bytes = fit.model_bytes;
  resources.inference_fps = 1.0 / evaluation.seconds_per_sample;
  result.train_files = sample_names(train);
  result.epoch_loss = fit.epoch_loss;
  const FeatureCacheCounts cache = method->cache_counts();
  result.cache = std::pair{static_cast<std::int64_t>(cache.hits), static_cast<std::int64_t>(cache.misses)};
  result.pro_fpr = evaluation.metrics.curve.fpr;
  result.pro = evaluation.metrics.curve.pro;
  result.config = c;
  return result;
}

}  // namespace

JobReport execute_job(const nlohmann::json& config, const JobContext& context) {
  std::string method = config.value("method", std::string("cfm"));
  if (method == "noop") return execute_noop(config, context);
  if (runs_backbones(method)) return execute_category_job(config, context);
  throw UsageError("unknown method '" + method + "'");
}

}  // namespace cfm
