#include "orchestrator/submission.h"

#include <fmt/format.h>

#include "common/net/protocol_error.h"
#include "common/settings/job_config.h"
#include "common/util/error.h"
#include "common/util/excerpt.h"

using nlohmann::json;

namespace cfm {

net::Submit parse_submission(const json& m) {
  net::Submit s = net::Submit::parse(m);
  for (std::size_t i = 0; i < s.jobs.size(); ++i) {
    const JobSpec& job = s.jobs[i];
    const std::string where = fmt::format("submitted job {} ({})", i, job.key.substr(0, 12));
    try {
      check_resolved_job_config(job.config);
    } catch (const UsageError& e) {
      throw net::ProtocolError(where + ": " + e.what());
    }
    // The axis values of a cell are settings that the configuration holds (shown in tables).
    for (const auto& [name, value] : job.axes.items())
      if (!job.config.contains(name))
        throw net::ProtocolError(where + ": axis '" + excerpt(name) + "' is not a setting of the job");
  }
  return s;
}

}  // namespace cfm
