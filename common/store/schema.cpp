#include "common/store/schema.h"

#include <string>
#include <vector>

#include "common/store/sqlite.h"
#include "common/util/error.h"

namespace cfm {
namespace {

// migrations[i] brings a database from version i to i + 1. Never edit a released entry: append.
const std::vector<const char*>& migrations() {
  static const std::vector<const char*> steps = {
      R"sql(
CREATE TABLE grids (
  name TEXT PRIMARY KEY,
  spec TEXT NOT NULL,                 -- the grid YAML as submitted
  submitted_at REAL NOT NULL          -- unix seconds
);
CREATE TABLE jobs (
  key TEXT PRIMARY KEY,               -- SHA-256 of the resolved config + fingerprints
  config TEXT NOT NULL,               -- resolved configuration (JSON)
  axes TEXT NOT NULL,                 -- the axis values of this cell (JSON object)
  state TEXT NOT NULL CHECK (state IN ('pending', 'leased', 'running', 'succeeded', 'failed')),
  attempts INTEGER NOT NULL DEFAULT 0,       -- attempts started so far (never reset)
  max_attempts INTEGER NOT NULL,             -- the job fails for good when attempts reaches this
  worker TEXT, lease_id TEXT, lease_expires REAL,
  created_at REAL NOT NULL, started_at REAL, finished_at REAL,
  error TEXT, log_tail TEXT,
  run_dir TEXT                        -- artifacts folder (checkpoints, maps, logs)
);
CREATE INDEX jobs_queue ON jobs(state, created_at);  -- the lease query: oldest pending job
CREATE TABLE grid_jobs (
  grid TEXT NOT NULL REFERENCES grids(name),
  key TEXT NOT NULL REFERENCES jobs(key),
  position INTEGER NOT NULL,          -- order of the cell in the expanded grid
  PRIMARY KEY (grid, key)
);
CREATE TABLE attempts (               -- one row per attempt, whatever its outcome
  key TEXT NOT NULL REFERENCES jobs(key),
  attempt INTEGER NOT NULL,
  worker TEXT NOT NULL,
  started_at REAL NOT NULL, finished_at REAL,
  outcome TEXT CHECK (outcome IN ('succeeded', 'failed', 'expired', 'released')),
  error TEXT, log_tail TEXT,
  PRIMARY KEY (key, attempt)
);
CREATE TABLE results (                -- the full result message of a successful attempt
  key TEXT NOT NULL REFERENCES jobs(key),
  attempt INTEGER NOT NULL,
  payload TEXT NOT NULL,
  PRIMARY KEY (key, attempt)
);
CREATE TABLE metrics (key TEXT NOT NULL REFERENCES jobs(key), name TEXT NOT NULL, value REAL, PRIMARY KEY (key, name));
CREATE TABLE timings (key TEXT NOT NULL REFERENCES jobs(key), stage TEXT NOT NULL, seconds REAL NOT NULL, PRIMARY KEY (key, stage));
CREATE TABLE resources (
  key TEXT PRIMARY KEY REFERENCES jobs(key),
  device TEXT, peak_rss_bytes INTEGER, peak_gpu_bytes INTEGER,
  parameters INTEGER, model_bytes INTEGER, inference_fps REAL
);
CREATE TABLE artifacts (key TEXT NOT NULL REFERENCES jobs(key), kind TEXT NOT NULL, path TEXT NOT NULL, PRIMARY KEY (key, kind));
)sql",
      // 1 -> 2: the setting 'grid' (the pixel grid side) is called 'feature_grid' (job keys unchanged).
      R"sql(
UPDATE jobs SET config = json_remove(json_set(config, '$.feature_grid', json_extract(config, '$.grid')), '$.grid')
  WHERE json_type(config, '$.grid') IS NOT NULL;
UPDATE jobs SET axes = json_remove(json_set(axes, '$.feature_grid', json_extract(axes, '$.grid')), '$.grid')
  WHERE json_type(axes, '$.grid') IS NOT NULL;
)sql",
      // 2 -> 3: multi-device jobs. `world_size` ranks ran the job on `devices` (rank order, comma-joined);
      // `device` stays rank 0's. Older rows ran on one device.
      R"sql(
ALTER TABLE resources ADD COLUMN world_size INTEGER NOT NULL DEFAULT 1;
ALTER TABLE resources ADD COLUMN devices TEXT;
UPDATE resources SET devices = device;
)sql",
      // 3 -> 4: the tables keyed by (job key, ...) are stored in their primary-key b-tree alone (WITHOUT
      // ROWID): a rowid table keeps a second b-tree for that key, and every result wrote a page of each to
      // the WAL (~30 % of the coordinator's WAL bytes per job). Same columns, same rows.
      R"sql(
CREATE TABLE attempts_4 (
  key TEXT NOT NULL REFERENCES jobs(key),
  attempt INTEGER NOT NULL,
  worker TEXT NOT NULL,
  started_at REAL NOT NULL, finished_at REAL,
  outcome TEXT CHECK (outcome IN ('succeeded', 'failed', 'expired', 'released')),
  error TEXT, log_tail TEXT,
  PRIMARY KEY (key, attempt)
) WITHOUT ROWID;
INSERT INTO attempts_4 SELECT key, attempt, worker, started_at, finished_at, outcome, error, log_tail FROM attempts;
DROP TABLE attempts;
ALTER TABLE attempts_4 RENAME TO attempts;
CREATE TABLE results_4 (
  key TEXT NOT NULL REFERENCES jobs(key),
  attempt INTEGER NOT NULL,
  payload TEXT NOT NULL,
  PRIMARY KEY (key, attempt)
) WITHOUT ROWID;
INSERT INTO results_4 SELECT key, attempt, payload FROM results;
DROP TABLE results;
ALTER TABLE results_4 RENAME TO results;
CREATE TABLE metrics_4 (key TEXT NOT NULL REFERENCES jobs(key), name TEXT NOT NULL, value REAL, PRIMARY KEY (key, name)) WITHOUT ROWID;
INSERT INTO metrics_4 SELECT key, name, value FROM metrics;
DROP TABLE metrics;
ALTER TABLE metrics_4 RENAME TO metrics;
CREATE TABLE timings_4 (key TEXT NOT NULL REFERENCES jobs(key), stage TEXT NOT NULL, seconds REAL NOT NULL, PRIMARY KEY (key, stage)) WITHOUT ROWID;
INSERT INTO timings_4 SELECT key, stage, seconds FROM timings;
DROP TABLE timings;
ALTER TABLE timings_4 RENAME TO timings;
CREATE TABLE resources_4 (
  key TEXT PRIMARY KEY REFERENCES jobs(key),
  device TEXT, peak_rss_bytes INTEGER, peak_gpu_bytes INTEGER,
  parameters INTEGER, model_bytes INTEGER, inference_fps REAL,
  world_size INTEGER NOT NULL DEFAULT 1, devices TEXT
) WITHOUT ROWID;
INSERT INTO resources_4 SELECT key, device, peak_rss_bytes, peak_gpu_bytes, parameters, model_bytes, inference_fps,
  world_size, devices FROM resources;
DROP TABLE resources;
ALTER TABLE resources_4 RENAME TO resources;
CREATE TABLE artifacts_4 (key TEXT NOT NULL REFERENCES jobs(key), kind TEXT NOT NULL, path TEXT NOT NULL, PRIMARY KEY (key, kind)) WITHOUT ROWID;
INSERT INTO artifacts_4 SELECT key, kind, path FROM artifacts;
DROP TABLE artifacts;
ALTER TABLE artifacts_4 RENAME TO artifacts;
)sql",
      // 4 -> 5: metrics, timings, resources and artifacts are views of each job's latest result payload
      // instead of tables the coordinator filled from that same payload. The payload was the only source of
      // their rows (same rows, values and types: checked on a version 4 demo database), and their four
      // random-key b-trees were ~40 % of the pages a job wrote to the WAL (17 -> 10 per job). A re-run's
      // rows replaced the older ones: `latest_results` is each job's newest successful attempt. Only a
      // section that is an object has rows: json_each gives its members text keys, an array's elements
      // integer keys and a scalar none, so `typeof(key) = 'text'` checks that without a second parse.
      R"sql(
DROP TABLE metrics;
DROP TABLE timings;
DROP TABLE resources;
DROP TABLE artifacts;
CREATE VIEW latest_results AS
  SELECT key, attempt, payload FROM results r
  WHERE attempt = (SELECT MAX(attempt) FROM results WHERE key = r.key);
CREATE VIEW metrics AS
  SELECT r.key AS key, m.key AS name,
         CASE WHEN m.type IN ('integer', 'real') THEN CAST(m.value AS REAL) END AS value
  FROM latest_results r, json_each(r.payload, '$.metrics') m
  WHERE typeof(m.key) = 'text';
CREATE VIEW timings AS
  SELECT r.key AS key, t.key AS stage, CAST(t.value AS REAL) AS seconds
  FROM latest_results r, json_each(r.payload, '$.timings') t
  WHERE typeof(t.key) = 'text' AND t.type IN ('integer', 'real');
CREATE VIEW artifacts AS
  SELECT r.key AS key, a.key AS kind, a.value AS path
  FROM latest_results r, json_each(r.payload, '$.artifacts') a
  WHERE typeof(a.key) = 'text' AND a.type = 'text';
CREATE VIEW resources AS
  SELECT key, device,
    CASE WHEN json_type(res, '$.peak_rss_bytes') IN ('integer', 'real')
         THEN CAST(json_extract(res, '$.peak_rss_bytes') AS INTEGER) END AS peak_rss_bytes,
    CASE WHEN json_type(res, '$.peak_gpu_bytes') IN ('integer', 'real')
         THEN CAST(json_extract(res, '$.peak_gpu_bytes') AS INTEGER) END AS peak_gpu_bytes,
    CASE WHEN json_type(res, '$.parameters') IN ('integer', 'real')
         THEN CAST(json_extract(res, '$.parameters') AS INTEGER) END AS parameters,
    CASE WHEN json_type(res, '$.model_bytes') IN ('integer', 'real')
         THEN CAST(json_extract(res, '$.model_bytes') AS INTEGER) END AS model_bytes,
    CASE WHEN json_type(res, '$.inference_fps') IN ('integer', 'real')
         THEN CAST(json_extract(res, '$.inference_fps') AS REAL) END AS inference_fps,
    COALESCE(CASE WHEN json_type(res, '$.world_size') IN ('integer', 'real')
                  THEN CAST(json_extract(res, '$.world_size') AS INTEGER) END, 1) AS world_size,
    device || COALESCE((SELECT group_concat(',' || COALESCE(json_extract(rank.value, '$.device'), '?'), '')
                        FROM json_each(res, '$.ranks') rank
                        WHERE json_type(res, '$.ranks') = 'array' AND rank.type = 'object'), '') AS devices
  FROM (SELECT key,
               CASE WHEN json_type(payload, '$.resources') = 'object'
                    THEN json_extract(payload, '$.resources') END AS res,
               COALESCE(CASE WHEN json_type(payload, '$.resources.device') = 'text'
                             THEN json_extract(payload, '$.resources.device') END, 'cpu') AS device
        FROM latest_results);
)sql",
      // 5 -> 6: the coordinator validates every result against its one type (common/net/job_result.h)
      // and stores its resources in plain columns of `results` beside the payload; `resources` selects
      // them. Older rows are filled from their payloads once, as version 5's view read them.
      R"sql(
ALTER TABLE results ADD COLUMN device TEXT;
ALTER TABLE results ADD COLUMN world_size INTEGER;
ALTER TABLE results ADD COLUMN devices TEXT;
ALTER TABLE results ADD COLUMN peak_rss_bytes INTEGER;
ALTER TABLE results ADD COLUMN peak_gpu_bytes INTEGER;
ALTER TABLE results ADD COLUMN parameters INTEGER;
ALTER TABLE results ADD COLUMN model_bytes INTEGER;
ALTER TABLE results ADD COLUMN inference_fps REAL;
UPDATE results SET
  device = COALESCE(CASE WHEN json_type(payload, '$.resources.device') = 'text' THEN json_extract(payload, '$.resources.device') END, 'cpu'),
  world_size = COALESCE(CASE WHEN json_type(payload, '$.resources.world_size') IN ('integer', 'real')
         THEN CAST(json_extract(payload, '$.resources.world_size') AS INTEGER) END, 1),
  devices = COALESCE(CASE WHEN json_type(payload, '$.resources.device') = 'text' THEN json_extract(payload, '$.resources.device') END, 'cpu') || COALESCE((SELECT group_concat(',' || COALESCE(json_extract(rank.value, '$.device'), '?'), '')
                                FROM json_each(payload, '$.resources.ranks') rank
                                WHERE json_type(payload, '$.resources.ranks') = 'array' AND rank.type = 'object'), ''),
  peak_rss_bytes = CASE WHEN json_type(payload, '$.resources.peak_rss_bytes') IN ('integer', 'real')
         THEN CAST(json_extract(payload, '$.resources.peak_rss_bytes') AS INTEGER) END,
  peak_gpu_bytes = CASE WHEN json_type(payload, '$.resources.peak_gpu_bytes') IN ('integer', 'real')
         THEN CAST(json_extract(payload, '$.resources.peak_gpu_bytes') AS INTEGER) END,
  parameters = CASE WHEN json_type(payload, '$.resources.parameters') IN ('integer', 'real')
         THEN CAST(json_extract(payload, '$.resources.parameters') AS INTEGER) END,
  model_bytes = CASE WHEN json_type(payload, '$.resources.model_bytes') IN ('integer', 'real')
         THEN CAST(json_extract(payload, '$.resources.model_bytes') AS INTEGER) END,
  inference_fps = CASE WHEN json_type(payload, '$.resources.inference_fps') IN ('integer', 'real')
         THEN CAST(json_extract(payload, '$.resources.inference_fps') AS REAL) END;
DROP VIEW resources;
DROP VIEW latest_results;
CREATE VIEW latest_results AS
  SELECT * FROM results r WHERE attempt = (SELECT MAX(attempt) FROM results WHERE key = r.key);
CREATE VIEW resources AS
  SELECT key, device, peak_rss_bytes, peak_gpu_bytes, parameters, model_bytes, inference_fps, world_size, devices
  FROM latest_results;
)sql",
  };
  return steps;
}

int user_version(Database& db) {
  Statement s = db.prepare("PRAGMA user_version");
  s.step();
  return static_cast<int>(s.integer(0));
}

}  // namespace

void check_readable_schema(Database& db) {
  const int version = user_version(db);
  if (version == 0) throw FormatError(db.path(), "not a cfm results database (no schema version)");
  if (version > kSchemaVersion)
    throw FormatError(db.path(), "written by a newer cfm (schema " + std::to_string(version) + ")");
}

void migrate(Database& db) {
  int version = user_version(db);
  if (version > kSchemaVersion)
    throw StoreError(db.path() + ": the database has schema version " + std::to_string(version) +
                     " but this cfm knows only up to " + std::to_string(kSchemaVersion) +
                     " (use a newer cfm)");
  for (; version < kSchemaVersion; ++version) {
    Transaction t(db);
    db.exec(migrations()[static_cast<std::size_t>(version)]);
    db.exec("PRAGMA user_version = " + std::to_string(version + 1));
    t.commit();
  }
}

}  // namespace cfm
