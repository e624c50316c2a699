#include "worker/job_offer.h"

#include <algorithm>
#include <filesystem>

#include "common/grid/job_spec.h"
#include "common/net/message_fields.h"
#include "common/net/messages.h"
#include "common/net/protocol_error.h"
#include "common/settings/job_config.h"
#include "common/util/excerpt.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace cfm {
namespace {

// `path` is `folder` or inside it, after resolving symbolic links of the parts that exist.
bool lies_inside(const fs::path& path, const fs::path& folder) {
  fs::path relative = fs::weakly_canonical(path).lexically_relative(fs::weakly_canonical(folder));
  return !relative.empty() && *relative.begin() != "..";
}

void check_run_dir(const std::string& run_dir, const std::string& key, const WorkerFolders& folders) {
  fs::path path(run_dir);
  if (!path.is_absolute() || path.lexically_normal() != path || path.filename() != key)
    throw JobRefused("run folder '" + excerpt(run_dir, 300) +
                     "' is not an absolute, normalised path ending in the job key");
  if (!folders.runs.empty() && fs::weakly_canonical(path.parent_path()) != fs::weakly_canonical(folders.runs))
    throw JobRefused("run folder '" + excerpt(run_dir, 300) + "' is not inside this worker's runs folder " +
                     folders.runs);
}

void check_inputs(const json& config, const WorkerFolders& folders) {
  if (folders.inputs.empty()) return;
  for (const Setting& setting : settings_table()) {
    const std::string& name = setting.name;
    if (setting.type != SettingType::Path || !config.contains(name)) continue;
    std::string value = config[name];
    bool allowed = std::any_of(folders.inputs.begin(), folders.inputs.end(),
                               [&](const std::string& dir) { return lies_inside(value, dir); });
    if (!allowed)
      throw JobRefused("setting '" + name + "' (" + excerpt(value, 200) +
                       ") is outside this worker's input folders");
  }
}

}  // namespace

std::string offer_lease_id(const json& job) {
  return net::string_field(job, "lease_id", net::kMaxLeaseIdBytes);
}

JobOffer check_job_offer(const json& job, const WorkerFolders& folders) {
  JobOffer offer;
  try {
    net::JobOfferMessage m = net::JobOfferMessage::parse(job);
    offer = {m.key, m.lease_id, m.run_dir, m.attempt, m.config, m.heartbeat_seconds};
    if (!is_job_key(offer.key))
      throw JobRefused("job key '" + excerpt(offer.key) + "' is not 64 lower-case hex characters");
    check_run_dir(offer.run_dir, offer.key, folders);
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
