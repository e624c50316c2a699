#include "orchestrator/submission.h"

#include <fmt/format.h>

#include <set>

#include "common/grid/job_config.h"
#include "common/net/message_fields.h"
#include "common/net/protocol_error.h"
#include "common/util/excerpt.h"
#include "common/util/plain_name.h"

using nlohmann::json;

namespace cfm {
namespace {

// The axis values of a cell: settings that the configuration holds (shown in tables).
void check_axes(const json& axes, const json& config, const std::string& where) {
  if (!axes.is_object()) throw net::ProtocolError(where + ": 'axes' is not an object");
  for (const auto& [name, value] : axes.items())
    if (!config.contains(name))
      throw net::ProtocolError(where + ": axis '" + excerpt(name) + "' is not a setting of the job");
}

JobSpec parse_job(const json& job, std::size_t index) {
  std::string where = fmt::format("submitted job {}", index);
  if (!job.is_object()) throw net::ProtocolError(where + " is not an object");
  std::string key = net::string_field(job, "key", 64);
  if (!is_job_key(key))
    throw net::ProtocolError(where + ": key '" + excerpt(key) + "' is not 64 lower-case hex characters");
  where += " (" + key.substr(0, 12) + ")";
  json config = net::object_field(job, "config");
  try {
    check_resolved_job_config(config);
  } catch (const UsageError& e) {
    throw net::ProtocolError(where + ": " + e.what());
  }
  json axes = job.contains("axes") ? job["axes"] : json::object();
  check_axes(axes, config, where);
  return {key, config, axes};
}

}  // namespace

Submission parse_submission(const json& m) {
  Submission s;
  s.grid = net::string_field(m, "grid", kMaxPlainNameBytes + 1);
  if (!is_plain_name(s.grid))
    throw net::ProtocolError("grid name '" + excerpt(s.grid) + "' is not a plain name (" + kPlainNameRule +
                             ")");
  s.spec = net::optional_string_field(m, "spec", 1u << 20);
  s.max_attempts = static_cast<int>(net::optional_integer_field(m, "max_attempts", 1, kMaxAttemptsLimit, 3));
  s.force = net::optional_bool_field(m, "force", false);
  if (!m.contains("jobs") || !m["jobs"].is_array())
    throw net::ProtocolError("submit message without a jobs list");
  std::set<std::string> keys;
  for (const json& job : m["jobs"]) {
    s.jobs.push_back(parse_job(job, s.jobs.size()));
    if (!keys.insert(s.jobs.back().key).second)
      throw net::ProtocolError("submitted job " + std::to_string(s.jobs.size() - 1) + " repeats key " +
                               s.jobs.back().key);
  }
  return s;
}

}  // namespace cfm
