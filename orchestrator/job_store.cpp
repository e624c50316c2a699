#include "orchestrator/job_store.h"

#include "common/store/schema.h"
#include "common/store/sqlite.h"
#include "common/util/random_hex.h"

namespace cfm {

JobStore::JobStore(const std::string& path, Access access)
    : db_(std::make_unique<Database>(path, access == Access::ReadOnly)) {
  if (access == Access::ReadOnly)
    check_readable_schema(*db_);
  else
    migrate(*db_);
}

JobStore::~JobStore() = default;

SubmitSummary JobStore::submit(const std::string& grid, const std::string& spec,
                               const std::vector<JobSpec>& jobs, int max_attempts, bool force, double now) {
  SubmitSummary summary;
  Transaction t(*db_);
  db_->prepare(
         "INSERT INTO grids(name, spec, submitted_at) VALUES (?1, ?2, ?3) "
         "ON CONFLICT(name) DO UPDATE SET spec = excluded.spec, submitted_at = excluded.submitted_at")
      .bind(1, grid)
      .bind(2, spec)
      .bind(3, now)
      .run();
  Statement find = db_->prepare("SELECT state, attempts FROM jobs WHERE key = ?1");
  Statement insert = db_->prepare(
      "INSERT INTO jobs(key, config, axes, state, max_attempts, created_at) VALUES (?1, ?2, ?3, 'pending', "
      "?4, ?5)");
  Statement requeue = db_->prepare(
      "UPDATE jobs SET state = 'pending', max_attempts = attempts + ?2, error = NULL, log_tail = NULL, "
      "worker = NULL, lease_id = NULL, lease_expires = NULL WHERE key = ?1");
  Statement link = db_->prepare("INSERT OR IGNORE INTO grid_jobs(grid, key, position) VALUES (?1, ?2, ?3)");
  int position = 0;
  for (const JobSpec& job : jobs) {
    find.bind(1, job.key);
    if (!find.step()) {
      insert.bind(1, job.key)
          .bind(2, job.config.dump())
          .bind(3, job.axes.dump())
          .bind(4, max_attempts)
          .bind(5, now)
          .run();
      ++summary.added;
    } else {
      std::string state = find.text(0);
      if (state == "failed" || (force && state == "succeeded")) {
        requeue.bind(1, job.key).bind(2, max_attempts).run();
        ++summary.requeued;
      } else if (state == "succeeded") {
        ++summary.already_done;
      } else {
        ++summary.in_queue;
      }
    }
    find.reset();
    link.bind(1, grid).bind(2, job.key).bind(3, position++).run();
  }
  t.commit();
  return summary;
}

std::optional<Lease> JobStore::lease(const std::string& worker, const std::string& runs_root,
                                     double lease_seconds, double now, int devices) {
  Transaction t(*db_);
  Statement pick = db_->prepare(
      "SELECT key, attempts, config FROM jobs WHERE state = 'pending' AND "
      "COALESCE(json_extract(config, '$.devices_per_job'), 1) <= ?1 ORDER BY created_at, rowid LIMIT 1");
  pick.bind(1, devices);
  if (!pick.step()) return std::nullopt;
  Lease lease;
  lease.key = pick.text(0);
  lease.attempt = static_cast<int>(pick.integer(1)) + 1;
  lease.config = nlohmann::json::parse(pick.text(2));
  lease.lease_id = random_hex(16);
  lease.run_dir = runs_root + "/" + lease.key;
  db_->prepare(
         "UPDATE jobs SET state = 'leased', attempts = ?2, worker = ?3, lease_id = ?4, lease_expires = ?5, "
         "started_at = ?6, "
         "run_dir = ?7 WHERE key = ?1")
      .bind(1, lease.key)
      .bind(2, lease.attempt)
      .bind(3, worker)
      .bind(4, lease.lease_id)
      .bind(5, now + lease_seconds)
      .bind(6, now)
      .bind(7, lease.run_dir)
      .run();
  db_->prepare("INSERT OR REPLACE INTO attempts(key, attempt, worker, started_at) VALUES (?1, ?2, ?3, ?4)")
      .bind(1, lease.key)
      .bind(2, lease.attempt)
      .bind(3, worker)
      .bind(4, now)
      .run();
  t.commit();
  return lease;
}

bool JobStore::heartbeat(const std::string& lease_id, double lease_seconds, double now) {
  db_->prepare(
         "UPDATE jobs SET state = 'running', lease_expires = ?2 WHERE lease_id = ?1 AND state IN ('leased', "
         "'running')")
      .bind(1, lease_id)
      .bind(2, now + lease_seconds)
      .run();
  return db_->changes() == 1;
}

std::optional<std::pair<std::string, int>> JobStore::end_attempt(const std::string& lease_id,
                                                                 const char* outcome,
                                                                 const std::string& error,
                                                                 const std::string& log_tail, double now) {
  Statement s =
      db_->prepare("SELECT key, attempts FROM jobs WHERE lease_id = ?1 AND state IN ('leased', 'running')");
  s.bind(1, lease_id);
  if (!s.step()) return std::nullopt;
  std::pair<std::string, int> job{s.text(0), static_cast<int>(s.integer(1))};
  db_->prepare(
         "UPDATE attempts SET finished_at = ?3, outcome = ?4, error = ?5, log_tail = ?6 WHERE key = ?1 AND "
         "attempt = ?2")
      .bind(1, job.first)
      .bind(2, job.second)
      .bind(3, now)
      .bind(4, outcome)
      .bind(5, error.empty() ? std::optional<std::string>() : error)
      .bind(6, log_tail.empty() ? std::optional<std::string>() : log_tail)
      .run();
  return job;
}

bool JobStore::complete(const std::string& lease_id, const net::JobResult& result, double now) {
  Transaction t(*db_);
  auto job = end_attempt(lease_id, "succeeded", "", "", now);
  if (!job) return false;
  db_->prepare(
         "UPDATE jobs SET state = 'succeeded', finished_at = ?2, lease_id = NULL, lease_expires = NULL, "
         "error = NULL, "
         "log_tail = NULL WHERE key = ?1")
      .bind(1, job->first)
      .bind(2, now)
      .run();
  // The metrics, timings and artifacts views read the payload; resources are columns (schema 6).
  const net::JobResources& r = result.resources;
  std::string devices = r.device;
  for (const net::RankResources& rank : r.ranks) devices += "," + (rank.device.empty() ? "?" : rank.device);
  Statement insert = db_->prepare(
      "INSERT OR IGNORE INTO results(key, attempt, payload, device, world_size, devices, peak_rss_bytes, "
      "peak_gpu_bytes, parameters, model_bytes, inference_fps) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, "
      "?10, "
      "?11)");
  insert.bind(1, job->first).bind(2, job->second).bind(3, result.to_json().dump());
  insert.bind(4, r.device).bind(5, static_cast<std::int64_t>(r.world_size)).bind(6, devices);
  insert.bind(7, r.peak_rss_bytes).bind(8, r.peak_gpu_bytes).bind(9, r.parameters).bind(10, r.model_bytes);
  insert.bind(11, r.inference_fps);
  insert.run();
  t.commit();
  return true;
}

bool JobStore::fail(const std::string& lease_id, const std::string& error, const std::string& log_tail,
                    double now) {
  Transaction t(*db_);
  auto job = end_attempt(lease_id, "failed", error, log_tail, now);
  if (!job) return false;
  db_->prepare(
         "UPDATE jobs SET state = CASE WHEN attempts >= max_attempts THEN 'failed' ELSE 'pending' END, "
         "finished_at = CASE WHEN attempts >= max_attempts THEN ?2 END, lease_id = NULL, lease_expires = "
         "NULL, "
         "error = ?3, log_tail = ?4 WHERE key = ?1")
      .bind(1, job->first)
      .bind(2, now)
      .bind(3, error)
      .bind(4, log_tail)
      .run();
  t.commit();
  return true;
}

bool JobStore::release(const std::string& lease_id, double now) {
  Transaction t(*db_);
  auto job = end_attempt(lease_id, "released", "", "", now);
  if (!job) return false;
  // A returned lease is not the job's fault: the attempt does not count against its budget.
  db_->prepare(
         "UPDATE jobs SET state = 'pending', max_attempts = max_attempts + 1, lease_id = NULL, lease_expires "
         "= NULL WHERE key = ?1")
      .bind(1, job->first)
      .run();
  t.commit();
  return true;
}

int JobStore::expire_leases(double now) {
  Transaction t(*db_);
  Statement s = db_->prepare(
      "SELECT lease_id, worker FROM jobs WHERE state IN ('leased', 'running') AND lease_expires < ?1");
  s.bind(1, now);
  std::vector<std::pair<std::string, std::string>> expired;
  while (s.step()) expired.emplace_back(s.text(0), s.text(1));
  for (const auto& [lease_id, worker] : expired) {
    std::string error = "lease expired: worker '" + worker + "' stopped sending heartbeats";
    auto job = end_attempt(lease_id, "expired", error, "", now);
    db_->prepare(
           "UPDATE jobs SET state = CASE WHEN attempts >= max_attempts THEN 'failed' ELSE 'pending' END, "
           "finished_at = CASE WHEN attempts >= max_attempts THEN ?2 END, lease_id = NULL, lease_expires = "
           "NULL, error = ?3 "
           "WHERE key = ?1")
        .bind(1, job->first)
        .bind(2, now)
        .bind(3, error)
        .run();
  }
  t.commit();
  return static_cast<int>(expired.size());
}

StateCounts JobStore::counts(const std::string& grid) const {
  std::string sql = grid.empty() ? "SELECT state, COUNT(*) FROM jobs GROUP BY state"
                                 : "SELECT j.state, COUNT(*) FROM jobs j JOIN grid_jobs g ON g.key = j.key "
                                   "WHERE g.grid = ?1 GROUP BY j.state";
  Statement s = db_->prepare(sql);
  if (!grid.empty()) s.bind(1, grid);
  StateCounts c;
  while (s.step()) {
    std::string state = s.text(0);
    int n = static_cast<int>(s.integer(1));
    if (state == "pending")
      c.pending = n;
    else if (state == "leased")
      c.leased = n;
    else if (state == "running")
      c.running = n;
    else if (state == "succeeded")
      c.succeeded = n;
    else if (state == "failed")
      c.failed = n;
  }
  return c;
}

std::vector<std::string> JobStore::grids() const {
  Statement s = db_->prepare("SELECT name FROM grids ORDER BY submitted_at");
  std::vector<std::string> names;
  while (s.step()) names.push_back(s.text(0));
  return names;
}

}  // namespace cfm
