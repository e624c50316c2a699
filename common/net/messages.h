// Every message of the wire protocol (docs/architecture.md §5), as a type with its fields: the one place
// that names them. Each message turns into JSON with to_json() and is read back with parse(), which
// checks presence, types and sizes (net::ProtocolError otherwise), so the coordinator, the worker and the
// clients never index raw JSON by string.
//
//   net::LeaseRequest{"node1/0"}.to_json()   // {"type": "lease", "worker": "node1/0"}
//   auto job = net::JobOfferMessage::parse(reply);
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/grid/job_spec.h"
#include "common/net/job_result.h"

namespace cfm::net {

// The type names, as they travel.
namespace message_type {
constexpr const char* kHello = "hello";
constexpr const char* kWelcome = "welcome";
constexpr const char* kError = "error";
constexpr const char* kLease = "lease";
constexpr const char* kJob = "job";
constexpr const char* kIdle = "idle";
constexpr const char* kHeartbeat = "heartbeat";
constexpr const char* kResult = "result";
constexpr const char* kFailure = "failure";
constexpr const char* kRelease = "release";
constexpr const char* kOk = "ok";
constexpr const char* kSubmit = "submit";
constexpr const char* kSubmitted = "submitted";
constexpr const char* kStatus = "status";
}  // namespace message_type

constexpr std::size_t kMaxNameBytes = 128;  // worker and client names
constexpr std::size_t kMaxLeaseIdBytes = 64;
constexpr std::size_t kMaxErrorBytes = 16384;    // a failure's one-line reason
constexpr std::size_t kMaxReasonBytes = 2048;    // what an error reply or log line quotes of a cause
constexpr std::size_t kMaxLogTailBytes = 65536;  // the tail of a job's log
constexpr int kMaxDevicesPerJob = 1024;          // ranks of one job

// The type of a decoded message (decode_body guarantees a string).
std::string type_of(const nlohmann::json& message);

// --- the first exchange after the TLS handshake ---
struct Hello {
  std::string name;  // for the coordinator's log lines
  nlohmann::json to_json() const;
  static Hello parse(const nlohmann::json& m);  // name printable ASCII
};
struct Welcome {
  nlohmann::json to_json() const;
};
struct ErrorReply {
  std::string reason;
  double retry_after = 0;  // > 0: nothing happened, send the same request again after this many seconds
  nlohmann::json to_json() const;
  static ErrorReply parse(const nlohmann::json& m);
};

// --- worker <-> coordinator ---
struct LeaseRequest {
  std::string worker;
  int devices = 1;  // the slot's devices: only jobs with devices_per_job <= this are offered
  nlohmann::json to_json() const;
  static LeaseRequest parse(const nlohmann::json& m);
};
// The reply to a lease when nothing is pending; `finished`: nothing pending or running either.
struct Idle {
  bool finished = false;
  nlohmann::json to_json() const;
  static Idle parse(const nlohmann::json& m);
};
// The reply to a lease with a job (the worker checks it further: worker/job_offer.h).
struct JobOfferMessage {
  std::string key, lease_id, run_dir;
  int attempt = 0;
  nlohmann::json config;
  double heartbeat_seconds = 5;
  nlohmann::json to_json() const;
  static JobOfferMessage parse(const nlohmann::json& m);
};
struct Heartbeat {
  std::string lease_id;
  nlohmann::json to_json() const;
  static Heartbeat parse(const nlohmann::json& m);
};
struct HeartbeatReply {
  bool valid = false;  // false: the lease expired, stop the job
  nlohmann::json to_json() const;
  static HeartbeatReply parse(const nlohmann::json& m);
};
struct ResultReport {
  std::string lease_id;
  JobResult result;
  nlohmann::json to_json() const;
  static ResultReport parse(const nlohmann::json& m);
};
struct FailureReport {
  std::string lease_id, error, log_tail;
  nlohmann::json to_json() const;
  static FailureReport parse(const nlohmann::json& m);
};
struct Release {
  std::string lease_id;
  nlohmann::json to_json() const;
  static Release parse(const nlohmann::json& m);
};
// The reply to result, failure and release: whether the report counted (false: a stale lease).
struct Acknowledgement {
  bool accepted = false;
  nlohmann::json to_json() const;
};

// --- clients ---
// A grid's jobs, from `cfm submit` or `cfm launch`. parse() checks what the wire can: the grid is a plain
// name, every key is a job key and appears once, configurations and axes are objects, counts are in range;
// the coordinator then checks each configuration against the settings (orchestrator/submission.h).
struct Submit {
  std::string grid;
  std::string spec;  // the grid file's text
  std::vector<JobSpec> jobs;
  int max_attempts = 3;
  bool force = false;  // run again jobs that succeeded before
  nlohmann::json to_json() const;
  static Submit parse(const nlohmann::json& m);
};
constexpr int kMaxAttemptsLimit = 1000;

struct Submitted {
  int added = 0, requeued = 0, already_done = 0, in_queue = 0;
  nlohmann::json to_json() const;
  static Submitted parse(const nlohmann::json& m);
};
struct StatusRequest {
  std::string grid;  // "" = every grid
  nlohmann::json to_json() const;
  static StatusRequest parse(const nlohmann::json& m);
};
struct StatusReply {
  int pending = 0, leased = 0, running = 0, succeeded = 0, failed = 0;
  std::vector<std::string> grids;
  nlohmann::json to_json() const;
  static StatusReply parse(const nlohmann::json& m);
};

}  // namespace cfm::net
