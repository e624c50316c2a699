// Runs one job of a grid end to end in this process (docs/architecture.md §2): for a CFM job, backbone
// features (through the feature cache), training, scoring and metrics, with the artifacts in the run folder
// (checkpoints, maps, train.json, metrics.json). Returns the job's result (common/net/job_result.h), or, on
// a rank other than 0 of a multi-device job, that rank's resources.
// Workers run it in a child process (`cfm job`), so a crash or a kill takes only that job down.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <variant>

#include "common/distributed/rank_setup.h"
#include "common/net/job_result.h"

namespace cfm {

struct JobContext {
  std::string run_dir;    // artifacts of this job
  std::string cache_dir;  // shared feature cache ("" = <run_dir>/../feature-cache)
  std::string device = "cpu";
  int attempt = 1;
  // Job processes that run at once on this machine's cores (the worker's slots x ranks): the automatic
  // thread policy gives each its share (common/runtime/thread_policy.h).
  int sharing_processes = 1;
  // A job with devices_per_job N runs as N such processes (ranks): they train data-parallel; rank 0
  // scores the test split and writes the artifacts and the result, the others only their own resources.
  RankSetup ranks;
};

using JobReport = std::variant<net::JobResult, net::RankResources>;

JobReport execute_job(const nlohmann::json& config, const JobContext& context);

}  // namespace cfm
