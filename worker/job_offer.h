// What a worker checks in a leased job before it touches the disk. The coordinator validated the
// submission already; the worker checks again because it is the one that writes files and runs the job:
//  - the key is 64 lower-case hex characters and the run folder is an absolute, normalised path whose
//    last component is that key (inside --runs when the worker was given one);
//  - the configuration is a resolved one the settings table accepts;
//  - with --inputs, every path setting (dataset, weights) lies inside one of those folders.
// A refused offer throws JobRefused with the reason; the worker reports it as the job's failure.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/util/error.h"

namespace cfm {

class JobRefused : public Error {
 public:
  using Error::Error;
};

struct JobOffer {
  std::string key, lease_id, run_dir;
  int attempt = 0;
  nlohmann::json config;
  double heartbeat_seconds = 5;
};

struct WorkerFolders {
  std::string runs;                 // "" = wherever the coordinator's runs folder is
  std::vector<std::string> inputs;  // empty = datasets and weights anywhere
};

// The lease id alone (to report a refusal of an offer that fails the other checks).
std::string offer_lease_id(const nlohmann::json& job);

JobOffer check_job_offer(const nlohmann::json& job, const WorkerFolders& folders);

}  // namespace cfm
