// One job of a grid: its key (a hash of every setting that changes results, docs/architecture.md §3), its
// resolved configuration and the grid cell it belongs to.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace cfm {

struct JobSpec {
  std::string key;
  nlohmann::json config;  // resolved configuration
  nlohmann::json axes;    // this cell's axis values
};

// True for a job key as job_key() makes it (common/settings/job_config.h): 64 lower-case hex characters
// (it names the run folder).
bool is_job_key(const std::string& text);

}  // namespace cfm
