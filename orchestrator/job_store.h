// The job queue and results of the coordinator, on the SQLite results database (docs/architecture.md
// §4, §6).
// The coordinator is the only writer. Every state change is one transaction, so a coordinator killed at
// any moment restarts from the database alone: leased jobs whose workers went away expire and requeue.
//
// Job states: pending -> leased (a worker holds it) -> running (first heartbeat) -> succeeded | failed.
// Each lease starts a new attempt; a failed or expired attempt requeues the job until max_attempts is
// reached. Reports carry the lease id: a late report of an expired attempt is answered "stale" and
// changes nothing, so every job's result is recorded exactly once.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/grid/job_spec.h"
#include "common/net/job_result.h"

namespace cfm {

class Database;

struct SubmitSummary {
  int added = 0;         // new jobs
  int already_done = 0;  // succeeded before: not run again (unless forced)
  int requeued = 0;      // failed before, or forced: pending again
  int in_queue = 0;      // pending or running already
};

struct Lease {
  std::string key, lease_id, run_dir;
  int attempt = 0;
  nlohmann::json config;
};

struct StateCounts {
  int pending = 0, leased = 0, running = 0, succeeded = 0, failed = 0;
  int total() const { return pending + leased + running + succeeded + failed; }
  bool finished() const { return pending + leased + running == 0; }
};

class JobStore {
 public:
  // ReadWrite opens or creates the database and migrates it to the current schema. ReadOnly opens an
  // existing one without writing anything (for watching: counts, grids) and refuses a non-cfm file.
  enum class Access { ReadWrite, ReadOnly };
  explicit JobStore(const std::string& path, Access access = Access::ReadWrite);
  ~JobStore();

  SubmitSummary submit(const std::string& grid, const std::string& spec, const std::vector<JobSpec>& jobs,
                       int max_attempts, bool force, double now);
  // Leases the oldest pending job that fits `devices` (its devices_per_job, 1 when unset, is not larger) to
  // `worker` until now + lease_seconds; run_dir = runs_root/<key>.
  std::optional<Lease> lease(const std::string& worker, const std::string& runs_root, double lease_seconds,
                             double now, int devices = 1);
  // Each returns false (and changes nothing) when the lease is no longer the job's current one.
  bool heartbeat(const std::string& lease_id, double lease_seconds, double now);
  bool complete(const std::string& lease_id, const net::JobResult& result, double now);
  bool fail(const std::string& lease_id, const std::string& error, const std::string& log_tail, double now);
  bool release(const std::string& lease_id,
               double now);  // worker shutting down: requeue, attempt not counted
  // Requeues (or fails, when out of attempts) every job whose lease expired; returns how many.
  int expire_leases(double now);

  StateCounts counts(const std::string& grid = "") const;
  std::vector<std::string> grids() const;
  Database& database() { return *db_; }

 private:
  // Ends the current attempt of the job holding `lease_id`; returns its key and attempt, or nothing if stale.
  std::optional<std::pair<std::string, int>> end_attempt(const std::string& lease_id, const char* outcome,
                                                         const std::string& error,
                                                         const std::string& log_tail, double now);

  std::unique_ptr<Database> db_;
};

}  // namespace cfm
