#include "common/net/messages.h"

#include <fmt/format.h>

#include <set>

#include "common/net/message_fields.h"
#include "common/net/protocol_error.h"
#include "common/util/excerpt.h"
#include "common/util/plain_name.h"

using nlohmann::json;

namespace cfm::net {
namespace {

namespace type = message_type;

// A lease id, as the store makes it (and as nothing else may look).
std::string lease_id_field(const json& m) { return string_field(m, "lease_id", kMaxLeaseIdBytes); }

int count_field(const json& m, const char* field) {
  return static_cast<int>(integer_field(m, field, 0, 1ll << 40));
}

}  // namespace

std::string type_of(const json& message) { return message["type"].get<std::string>(); }

json Hello::to_json() const { return {{"type", type::kHello}, {"name", name}}; }
Hello Hello::parse(const json& m) {
  Hello h{string_field(m, "name", kMaxNameBytes)};
  for (char c : h.name)
    if (c < 0x20 || c > 0x7e)
      throw ProtocolError("hello: the name holds a control or non-ASCII byte: '" + excerpt(h.name) + "'");
  return h;
}

json Welcome::to_json() const { return {{"type", type::kWelcome}}; }

json ErrorReply::to_json() const {
  json m = {{"type", type::kError}, {"reason", reason}};
  if (retry_after > 0) m["retry_after"] = retry_after;
  return m;
}
ErrorReply ErrorReply::parse(const json& m) {
  return {optional_string_field(m, "reason", 4096, "?"),
          m.contains("retry_after") ? number_field(m, "retry_after", 0, 60) : 0.0};
}

json LeaseRequest::to_json() const {
  return {{"type", type::kLease}, {"worker", worker}, {"devices", devices}};
}
LeaseRequest LeaseRequest::parse(const json& m) {
  return {string_field(m, "worker", kMaxNameBytes),
          static_cast<int>(optional_integer_field(m, "devices", 1, kMaxDevicesPerJob, 1))};
}

json Idle::to_json() const { return {{"type", type::kIdle}, {"finished", finished}}; }
Idle Idle::parse(const json& m) { return {bool_field(m, "finished")}; }

json JobOfferMessage::to_json() const {
  return {{"type", type::kJob},
          {"key", key},
          {"attempt", attempt},
          {"lease_id", lease_id},
          {"run_dir", run_dir},
          {"config", config},
          {"heartbeat_seconds", heartbeat_seconds}};
}
JobOfferMessage JobOfferMessage::parse(const json& m) {
  JobOfferMessage j;
  j.lease_id = lease_id_field(m);
  j.key = string_field(m, "key", 64);
  j.attempt = static_cast<int>(integer_field(m, "attempt", 1, 1000));
  j.run_dir = string_field(m, "run_dir", 4096);
  j.config = object_field(m, "config");
  j.heartbeat_seconds = number_field(m, "heartbeat_seconds", 0.01, 3600);
  return j;
}

json Heartbeat::to_json() const { return {{"type", type::kHeartbeat}, {"lease_id", lease_id}}; }
Heartbeat Heartbeat::parse(const json& m) { return {lease_id_field(m)}; }

json HeartbeatReply::to_json() const { return {{"type", type::kOk}, {"valid", valid}}; }
HeartbeatReply HeartbeatReply::parse(const json& m) { return {bool_field(m, "valid")}; }

json ResultReport::to_json() const {
  return {{"type", type::kResult}, {"lease_id", lease_id}, {"result", result.to_json()}};
}
ResultReport ResultReport::parse(const json& m) {
  return {lease_id_field(m), JobResult::from_json(object_field(m, "result"))};
}

json FailureReport::to_json() const {
  return {{"type", type::kFailure}, {"lease_id", lease_id}, {"error", error}, {"log_tail", log_tail}};
}
FailureReport FailureReport::parse(const json& m) {
  return {lease_id_field(m), string_field(m, "error", kMaxErrorBytes),
          optional_string_field(m, "log_tail", kMaxLogTailBytes)};
}

json Release::to_json() const { return {{"type", type::kRelease}, {"lease_id", lease_id}}; }
Release Release::parse(const json& m) { return {lease_id_field(m)}; }

json Acknowledgement::to_json() const { return {{"type", type::kOk}, {"accepted", accepted}}; }

json Submit::to_json() const {
  json list = json::array();
  for (const JobSpec& j : jobs) list.push_back({{"key", j.key}, {"config", j.config}, {"axes", j.axes}});
  return {{"type", type::kSubmit},        {"grid", grid},  {"spec", spec}, {"jobs", list},
          {"max_attempts", max_attempts}, {"force", force}};
}

Submit Submit::parse(const json& m) {
  Submit s;
  s.grid = string_field(m, "grid", kMaxPlainNameBytes + 1);
  if (!is_plain_name(s.grid))
    throw ProtocolError("grid name '" + excerpt(s.grid) + "' is not a plain name (" + kPlainNameRule + ")");
  s.spec = optional_string_field(m, "spec", 1u << 20);
  s.max_attempts = static_cast<int>(optional_integer_field(m, "max_attempts", 1, kMaxAttemptsLimit, 3));
  s.force = optional_bool_field(m, "force", false);
  if (!m.contains("jobs") || !m["jobs"].is_array()) throw ProtocolError("submit message without a jobs list");
  std::set<std::string> keys;
  for (const json& job : m["jobs"]) {
    std::string where = fmt::format("submitted job {}", s.jobs.size());
    if (!job.is_object()) throw ProtocolError(where + " is not an object");
    std::string key = string_field(job, "key", 64);
    if (!is_job_key(key))
      throw ProtocolError(where + ": key '" + excerpt(key) + "' is not 64 lower-case hex characters");
    if (!keys.insert(key).second) throw ProtocolError(where + " repeats key " + key);
    json axes = job.contains("axes") ? job["axes"] : json::object();
    if (!axes.is_object())
      throw ProtocolError(where + " (" + key.substr(0, 12) + "): 'axes' is not an object");
    s.jobs.push_back({key, object_field(job, "config"), axes});
  }
  return s;
}

json Submitted::to_json() const {
  return {{"type", type::kSubmitted},
          {"added", added},
          {"requeued", requeued},
          {"already_done", already_done},
          {"in_queue", in_queue}};
}
Submitted Submitted::parse(const json& m) {
  return {count_field(m, "added"), count_field(m, "requeued"), count_field(m, "already_done"),
          count_field(m, "in_queue")};
}

json StatusRequest::to_json() const { return {{"type", type::kStatus}, {"grid", grid}}; }
StatusRequest StatusRequest::parse(const json& m) {
  return {optional_string_field(m, "grid", kMaxNameBytes + 1)};
}

json StatusReply::to_json() const {
  return {{"type", type::kStatus},  {"pending", pending}, {"leased", leased}, {"running", running},
          {"succeeded", succeeded}, {"failed", failed},   {"grids", grids}};
}
StatusReply StatusReply::parse(const json& m) {
  StatusReply s{count_field(m, "pending"),   count_field(m, "leased"), count_field(m, "running"),
                count_field(m, "succeeded"), count_field(m, "failed"), {}};
  if (!m.contains("grids") || !m["grids"].is_array())
    throw ProtocolError("status reply without a grids list");
  for (const json& g : m["grids"])
    if (g.is_string()) s.grids.push_back(excerpt(g.get<std::string>(), kMaxNameBytes));
  return s;
}

}  // namespace cfm::net
