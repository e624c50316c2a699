// One job of a grid as a fully resolved configuration (docs/architecture.md §3, §7): a flat JSON object whose
// keys are the settings of common/settings/settings.h. Resolution fills every default (from the backbone
// preset for CFM jobs), so a stored config says exactly what ran. The job key hashes the settings that change
// results, plus the content fingerprints of the weights and the dataset category and the method version.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/settings/settings.h"

namespace cfm {

// Bump when a code change alters results: every job key changes, so grids re-run.
constexpr const char* kMethodVersion = "cfm-method-1";

// Fills the defaults of `method` (cfm: from the backbone preset; noop: timing only) under the given
// settings, makes paths absolute relative to `base_dir`, and checks values (UsageError naming the key).
nlohmann::json resolve_job_config(const nlohmann::json& settings, const std::string& base_dir);

// Caches file hashes so that a grid with 100 cells hashes each weights file once.
class Fingerprints {
 public:
  std::string file(const std::string& path);  // SHA-256 of the content
  std::string category(const std::string& dataset,
                       const std::string& category);  // names + sizes of its files
 private:
  std::map<std::string, std::string> cache_;
};

std::string job_key(const nlohmann::json& config, Fingerprints& fingerprints);

// Checks a configuration that arrives already resolved (a submission to the coordinator, a job a
// worker leases): every key a known setting of the right type, paths absolute and normal, every default
// present (resolving it again changes nothing), and the method's own rules. UsageError names the key.
void check_resolved_job_config(const nlohmann::json& config);

}  // namespace cfm
