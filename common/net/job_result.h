// What a finished job reports, defined once: `cfm job` builds it (common/methods/job_executor.h) and
// writes it to its result file, the worker reads it back, adds the other ranks' resources and sends it in
// a `result` message, and the coordinator stores it (orchestrator/job_store.h). Its JSON form is the
// payload of the results database (docs/results-schema.md):
//   {"metrics": {name: value or null}, "timings": {stage: seconds}, "resources": {...},
//    "artifacts": {kind: path}, "counts": {...}, "train_files": [...], "epoch_loss": [...],
//    "cache": {"hits", "misses"}, "pro_curve": {"fpr": [...], "pro": [...]}, "config": {...}}
// Every section is optional (a no-op job reports metrics, timings and resources only); a section that is
// present has its types, or from_json refuses the whole result naming it.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace cfm::net {

// One rank of a multi-device job other than rank 0 (which reports the job's own resources).
struct RankResources {
  int rank = 0;
  std::string device;
  std::int64_t peak_rss_bytes = 0;
  std::optional<std::int64_t> peak_gpu_bytes;  // CUDA ranks only
  double all_reduce_seconds = 0;               // waiting in collectives
  double infer_seconds = 0;                    // scoring its share of the test split

  nlohmann::json to_json() const;
  static RankResources from_json(const nlohmann::json& j);
};

struct JobResources {
  std::string device = "cpu";  // rank 0's slot device
  int world_size = 1;
  std::int64_t peak_rss_bytes = 0;
  std::optional<std::int64_t> peak_gpu_bytes;  // CUDA jobs only
  std::optional<std::int64_t> parameters;      // the fitted model's
  std::optional<std::int64_t> model_bytes;     // what the fitted model takes on disk
  std::optional<double> inference_fps;         // 1 / device seconds per test sample
  std::vector<RankResources> ranks;            // ranks 1.. of a multi-device job
};

struct JobResult {
  std::map<std::string, std::optional<double>> metrics;  // nullopt: undefined (e.g. no good test image)
  std::map<std::string, double> timings;                 // stage -> seconds
  JobResources resources;
  std::map<std::string, std::string> artifacts;  // kind -> path
  std::map<std::string, std::int64_t> counts;    // test_images, anomalous_images, train_images
  std::vector<std::string> train_files;
  std::vector<double> epoch_loss;
  std::optional<std::pair<std::int64_t, std::int64_t>> cache;  // feature cache hits, misses
  std::vector<double> pro_fpr, pro;                            // the PRO curve, when scored
  nlohmann::json config = nlohmann::json::object();            // the resolved configuration it ran

  nlohmann::json to_json() const;
  // ProtocolError naming the section and entry whose type is wrong.
  static JobResult from_json(const nlohmann::json& j);
};

// A multi-device job's result: rank 0's, with every other rank's resources.
void add_rank_resources(JobResult& result, std::vector<RankResources> ranks);

}  // namespace cfm::net
