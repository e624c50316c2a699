#include "worker/job_executor.h"

#include <ATen/Parallel.h>
#include <fmt/format.h>
#include <sys/resource.h>
#include <torch/torch.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "common/cfm/category_method.h"
#include "common/data/dataset.h"
#include "common/data/few_shot.h"
#include "common/distributed/rank_group.h"
#include "common/grid/settings.h"
#include "common/models/compute_device.h"
#include "common/models/compute_process.h"
#include "common/models/thread_policy.h"
#include "common/util/error.h"
#include "common/util/stopwatch.h"
#include "common/util/text_file.h"

namespace fs = std::filesystem;

namespace cfm {
namespace {

std::int64_t peak_rss_bytes() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<std::int64_t>(usage.ru_maxrss) * 1024;  // Linux reports KiB
}

nlohmann::json execute_noop(const nlohmann::json& c, const JobContext& context) {
  Stopwatch total;
  std::this_thread::sleep_for(std::chrono::milliseconds(c["sleep_ms"].get<long long>()));
  if (context.attempt <= c["fail_attempts"].get<int>())
    throw Error(fmt::format("noop job fails on purpose on attempt {} (fail_attempts = {})", context.attempt,
                            c["fail_attempts"].get<int>()));
  return {{"metrics", {{"noop", 1.0}}},
          {"timings", {{"total", total.seconds()}}},
          {"resources", {{"device", context.device}, {"peak_rss_bytes", peak_rss_bytes()}}}};
}

// What a rank other than 0 reports (the worker adds it to rank 0's result under resources.ranks).
nlohmann::json rank_resources(const JobContext& context, const at::Device& device, const RankGroup& ranks,
                              const CategoryEvaluation& share) {
  nlohmann::json r = {{"rank", context.ranks.rank},
                      {"device", context.device},
                      {"peak_rss_bytes", peak_rss_bytes()},
                      {"all_reduce_seconds", ranks.communication_seconds()},
                      {"infer_seconds", share.own_seconds}};
  if (auto gpu_bytes = peak_gpu_memory_bytes(device)) r["peak_gpu_bytes"] = *gpu_bytes;
  return {{"metrics", nlohmann::json::object()}, {"resources", r}};
}

// A job of a method that runs the backbones on a category (cfm, memory_bank): fit, score the test split,
// record metrics, timings and resources.
nlohmann::json execute_category_job(const nlohmann::json& c, const JobContext& context) {
  // The slot's device: backbones, mapping networks or banks and scoring run there (FPS, the grid pooling
  // and CFM's smoothing stay on the CPU). A CUDA slot in a CPU-only build fails the job with the reason.
  const at::Device device = parse_compute_device(context.device);
  reset_peak_gpu_memory(device);
  Stopwatch total, stage;
  const CfmSettings settings = cfm_settings(c);
  const ThreadPolicy threads = choose_thread_policy(settings.training.threads, context.sharing_processes);
  prepare_compute_process(threads);
  fmt::print("threads: {}\n", describe(threads));
  const std::string category = c["category"];
  nlohmann::json timings = nlohmann::json::object();

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
  for (const auto& [name, seconds] : fit.timings) timings[name] = timings.value(name, 0.0) + seconds;
  const TrainReport& report = fit.report;
  nlohmann::json artifacts = {{"run_dir", context.run_dir}};
  for (const auto& [kind, path] : fit.artifacts) artifacts[kind] = path;

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
  artifacts["maps"] = (eval_dir / "maps").string();
  artifacts["metrics_json"] = (eval_dir / "metrics.json").string();
  const std::int64_t model_bytes = fit.model_bytes;

  nlohmann::json metrics = nlohmann::json::parse(evaluation_json(evaluation.metrics, {}));
  nlohmann::json result = {
      {"metrics", nlohmann::json::object()},
      {"counts",
       {{"test_images", evaluation.metrics.images},
        {"anomalous_images", evaluation.metrics.anomalous_images},
        {"train_images", train.size()}}},
      {"timings", timings},
      {"resources",
       {{"device", context.device},
        {"world_size", ranks.world_size()},
        {"peak_rss_bytes", peak_rss_bytes()},
        {"parameters", method->parameter_count()},
        {"model_bytes", model_bytes},
        {"inference_fps", 1.0 / evaluation.seconds_per_sample}}},
      {"artifacts", artifacts},
      {"train_files", sample_names(train)},
      {"epoch_loss", report.epoch_loss},
      {"cache", {{"hits", method->cache_hits()}, {"misses", method->cache_misses()}}},
      {"pro_curve", {{"fpr", evaluation.metrics.curve.fpr}, {"pro", evaluation.metrics.curve.pro}}},
      {"config", c}};
  if (auto gpu_bytes = peak_gpu_memory_bytes(device)) result["resources"]["peak_gpu_bytes"] = *gpu_bytes;
  for (const char* name : {"i_auroc", "p_auroc", "aupro@0.3", "aupro@0.1", "aupro@0.05", "aupro@0.01"})
    result["metrics"][name] = metrics.contains(name)
                                  ? metrics[name]
                                  : nlohmann::json();  // null: undefined (e.g. no good test image)
  write_text_file((fs::path(context.run_dir) / "result.json").string(), result.dump(2) + "\n");
  return result;
}

}  // namespace

nlohmann::json execute_job(const nlohmann::json& config, const JobContext& context) {
  std::string method = config.value("method", std::string("cfm"));
  if (method == "noop") return execute_noop(config, context);
  if (runs_backbones(method)) return execute_category_job(config, context);
  throw UsageError("unknown method '" + method + "'");
}

}  // namespace cfm
