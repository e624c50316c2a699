// A grid submission as it arrives over the network, checked completely before the store sees it: the
// grid name is a plain name, every job key is 64 lower-case hex characters (it names the run folder),
// every configuration is a resolved one the settings table accepts, and the counts are in range. A bad
// submission is refused as a whole (net::ProtocolError naming the job and the field); nothing is stored.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/store/job_store.h"

namespace cfm {

struct Submission {
  std::string grid;
  std::string spec;  // the grid file's text
  std::vector<JobSpec> jobs;
  int max_attempts = 3;
  bool force = false;
};

constexpr int kMaxAttemptsLimit = 1000;

Submission parse_submission(const nlohmann::json& message);

}  // namespace cfm
