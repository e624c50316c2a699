#include "worker/job_offer.h"

#include <algorithm>
#include <filesystem>

#include "grid/job_config.h"
#include "net/message_fields.h"
#include "net/protocol_error.h"
#include "util/excerpt.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace cfm {
namespace {

// `path` is `folder` or inside it, after resolving symbolic links of the parts that exist.
bool lies_inside(const fs::path& path, const fs::path& folder) {
  fs::path relative = fs::weakly_canonical(path).lexically_relative(fs::weakly_canonical(folder));
  return !relative.empty() && *relative.begin() != "..";
}

std::string checked_run_dir(const std::string& run_dir, const std::string& key, const WorkerFolders& folders) {
  fs::path path(run_dir);
  if (!path.is_absolute() || path.lexically_normal() != path || path.filename() != key)
    throw JobRefused("run folder '" + excerpt(run_dir, 300) + "' is not an absolute, normalised path ending in the job key");
  if (!folders.runs.empty() && fs::weakly_canonical(path.parent_path()) != fs::weakly_canonical(folders.runs))
    throw JobRefused("run folder '" + excerpt(run_dir, 300) + "' is not inside this worker's runs folder " + folders.runs);
  return run_dir;
}

void check_inputs(const json& config, const WorkerFolders& folders) {
  if (folders.inputs.empty()) return;
  for (const auto& [name, info] : known_settings()) {
    if (info.type != SettingType::Path || !config.contains(name)) continue;
    std::string value = config[name];
    bool allowed = std::any_of(folders.inputs.begin(), folders.inputs.end(), [&](const std::string& dir) { return lies_inside(value, dir); });
    if (!allowed) throw JobRefused("setting '" + name + "' (" + excerpt(value, 200) + ") is outside this worker's input folders");
  }
}

}  // namespace

std::string offer_lease_id(const json& job) { return net::string_field(job, "lease_id", 64); }

JobOffer check_job_offer(const json& job, const WorkerFolders& folders) {
  JobOffer offer;
  try {
    offer.lease_id = offer_lease_id(job);
    offer.key = net::string_field(job, "key", 64);
    offer.attempt = static_cast<int>(net::optional_integer_field(job, "attempt", 1, 1000, 0));
    if (!job.contains("heartbeat_seconds") || !job["heartbeat_seconds"].is_number() || job["heartbeat_seconds"].get<double>() <= 0)
      throw JobRefused("the offer has no positive heartbeat_seconds");
    offer.heartbeat_seconds = job["heartbeat_seconds"];
    offer.config = net::object_field(job, "config");
    std::string run_dir = net::string_field(job, "run_dir", 4096);
    if (offer.attempt < 1) throw JobRefused("the offer has no attempt number");
    if (!is_job_key(offer.key)) throw JobRefused("job key '" + excerpt(offer.key) + "' is not 64 lower-case hex characters");
    offer.run_dir = checked_run_dir(run_dir, offer.key, folders);
    check_resolved_job_config(offer.config);
  } catch (const net::ProtocolError& e) {
    throw JobRefused(e.what());
  } catch (const UsageError& e) {
    throw JobRefused(e.what());
  }
  check_inputs(offer.config, folders);
  return offer;
}

}  // namespace cfm
