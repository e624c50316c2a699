#include "orchestrator/job_store.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>

#include "common/store/schema.h"
#include "common/store/sqlite.h"
#include "common/util/error.h"
#include "test_support.h"

namespace cfm {
namespace {

std::vector<JobSpec> jobs(int n) {
  std::vector<JobSpec> out;
  for (int i = 0; i < n; ++i)
    out.push_back({"key" + std::to_string(i), {{"method", "noop"}, {"i", i}}, {{"i", i}}});
  return out;
}

int rows(JobStore& s, const std::string& table) {
  Statement q = s.database().prepare("SELECT COUNT(*) FROM " + table);
  q.step();
  return static_cast<int>(q.integer(0));
}

// Leases the oldest pending job at `now` and reports `result` for it.
void run_next_job(JobStore& s, const nlohmann::json& result, double now, int devices = 1) {
  auto lease = s.lease("w", "/runs", 60, now, devices);
  ASSERT_TRUE(lease);
  ASSERT_TRUE(s.complete(lease->lease_id, net::JobResult::from_json(result), now + 1));
}

// The first column of every row of `query`, NULL as "NULL".
std::vector<std::string> column(JobStore& s, const std::string& query) {
  std::vector<std::string> values;
  Statement q = s.database().prepare(query);
  while (q.step()) values.push_back(q.is_null(0) ? "NULL" : q.text(0));
  return values;
}

TEST(JobStore, LeaseCompleteAndStaleReportsChangeNothing) {
  test::TempDir dir;
  JobStore s(dir / "r.sqlite");
  SubmitSummary first = s.submit("g", "spec", jobs(2), 2, false, 0);
  EXPECT_EQ(first.added, 2);
  auto lease = s.lease("w1", "/runs", 10, 1);
  ASSERT_TRUE(lease);
  EXPECT_EQ(lease->key, "key0");
  EXPECT_EQ(lease->attempt, 1);
  EXPECT_EQ(lease->run_dir, "/runs/key0");
  EXPECT_TRUE(s.heartbeat(lease->lease_id, 10, 2));
  EXPECT_EQ(s.counts("g").running, 1);
  nlohmann::json result = {{"metrics", {{"i_auroc", 0.75}, {"undefined", nullptr}}},
                           {"timings", {{"train", 3.5}}},
                           {"resources", {{"peak_rss_bytes", 1000}, {"parameters", 7}}},
                           {"artifacts", {{"maps", "/m"}}}};
  EXPECT_TRUE(s.complete(lease->lease_id, net::JobResult::from_json(result), 3));
  EXPECT_FALSE(s.complete(lease->lease_id, net::JobResult::from_json(result), 4));  // repeated report
  EXPECT_FALSE(s.heartbeat(lease->lease_id, 10, 4));
  EXPECT_EQ(rows(s, "results"), 1);
  EXPECT_EQ(rows(s, "metrics"), 2);
  Statement m = s.database().prepare("SELECT value FROM metrics WHERE key = 'key0' AND name = 'i_auroc'");
  ASSERT_TRUE(m.step());
  EXPECT_DOUBLE_EQ(m.real(0), 0.75);
  EXPECT_EQ(s.counts("g").succeeded, 1);
  // Resubmission: the finished job is not run again; --force requeues it.
  SubmitSummary again = s.submit("g", "spec", jobs(2), 2, false, 5);
  EXPECT_EQ(again.already_done, 1);
  EXPECT_EQ(again.in_queue, 1);
  EXPECT_EQ(s.submit("g", "spec", jobs(2), 2, true, 6).requeued, 1);
}

TEST(JobStore, ExpiredLeasesRequeueUntilTheAttemptBudgetIsSpent) {
  test::TempDir dir;
  JobStore s(dir / "r.sqlite");
  s.submit("g", "", jobs(1), 2, false, 0);
  auto a = s.lease("w1", "/r", 10, 0);
  EXPECT_EQ(s.expire_leases(5), 0);
  EXPECT_EQ(s.expire_leases(11), 1);
  EXPECT_EQ(s.counts().pending, 1);
  EXPECT_FALSE(s.complete(a->lease_id, {}, 12));  // the late report of the expired attempt is stale
  auto b = s.lease("w2", "/r", 10, 12);
  EXPECT_EQ(b->attempt, 2);
  EXPECT_TRUE(s.fail(b->lease_id, "boom", "log tail", 13));
  EXPECT_EQ(s.counts().failed, 1);  // 2 attempts of 2
  EXPECT_FALSE(s.lease("w1", "/r", 10, 14));
  Statement e = s.database().prepare("SELECT error, log_tail FROM jobs");
  e.step();
  EXPECT_EQ(e.text(0), "boom");
  EXPECT_EQ(e.text(1), "log tail");
  EXPECT_EQ(rows(s, "attempts"), 2);
}

TEST(JobStore, ReleasedLeaseDoesNotCostAnAttempt) {
  test::TempDir dir;
  JobStore s(dir / "r.sqlite");
  s.submit("g", "", jobs(1), 1, false, 0);
  auto a = s.lease("w1", "/r", 10, 0);
  EXPECT_TRUE(s.release(a->lease_id, 1));
  auto b = s.lease("w1", "/r", 10, 2);
  ASSERT_TRUE(b);
  EXPECT_TRUE(s.fail(b->lease_id, "x", "", 3));
  EXPECT_EQ(s.counts().failed, 1);
}

TEST(JobStore, ReopensAtTheCurrentSchemaAndRefusesANewerOne) {
  test::TempDir dir;
  {
    JobStore s(dir / "r.sqlite");
    s.submit("g", "", jobs(3), 1, false, 0);
  }
  JobStore reopened(dir / "r.sqlite");
  EXPECT_EQ(reopened.counts("g").pending, 3);
  reopened.database().exec("PRAGMA user_version = 99");
  EXPECT_THROW(JobStore(dir / "r.sqlite"), StoreError);
}

const char* const kResultViews[] = {"metrics", "timings", "resources", "artifacts"};
// The columns schema 6 added to results.
const char* const kResultColumns[] = {"device",         "world_size", "devices",     "peak_rss_bytes",
                                      "peak_gpu_bytes", "parameters", "model_bytes", "inference_fps"};

// The tables as schema version 4 held them: the rows the views show, stored (version 4's WITHOUT ROWID
// layout does not matter to the migrations that follow).
void downgrade_to_schema_4(Database& db) {
  for (const char* view : kResultViews)
    db.exec(fmt::format(
        "CREATE TABLE {0}_4 AS SELECT * FROM {0}; DROP VIEW {0}; ALTER TABLE {0}_4 RENAME TO {0}", view));
  db.exec("DROP VIEW latest_results; PRAGMA user_version = 4");
  for (const char* column : kResultColumns)
    db.exec(fmt::format("ALTER TABLE results DROP COLUMN {}", column));
}

// The tables as schema version 2 left them (migration 2 -> 3 added two resources columns).
void downgrade_to_schema_2(Database& db) {
  downgrade_to_schema_4(db);
  db.exec("ALTER TABLE resources DROP COLUMN world_size; ALTER TABLE resources DROP COLUMN devices");
  db.exec("PRAGMA user_version = 2");
}

TEST(JobStore, SchemaTwoRenamesTheGridSettingOfStoredJobs) {
  test::TempDir dir;
  {
    JobStore s(dir / "r.sqlite");
    s.submit("g", "", jobs(1), 1, false, 0);
    // As a version 1 database holds it: the pixel grid side under its old name, in config and axes.
    s.database().exec(R"(UPDATE jobs SET config = '{"method":"noop","grid":56}', axes = '{"grid":56}')");
    downgrade_to_schema_2(s.database());
    s.database().exec("PRAGMA user_version = 1");
  }
  JobStore migrated(dir / "r.sqlite");
  Statement row = migrated.database().prepare("SELECT config, axes FROM jobs");
  ASSERT_TRUE(row.step());
  nlohmann::json config = nlohmann::json::parse(row.text(0)), axes = nlohmann::json::parse(row.text(1));
  EXPECT_EQ(config, (nlohmann::json{{"method", "noop"}, {"feature_grid", 56}}));
  EXPECT_EQ(axes, (nlohmann::json{{"feature_grid", 56}}));
  Statement version = migrated.database().prepare("PRAGMA user_version");
  ASSERT_TRUE(version.step());
  EXPECT_EQ(version.integer(0), kSchemaVersion);
}

TEST(JobStore, SchemaThreeGivesOlderResourceRowsOneDevice) {
  test::TempDir dir;
  {
    JobStore s(dir / "r.sqlite");
    s.submit("g", "", jobs(1), 1, false, 0);
    run_next_job(s, {{"resources", {{"device", "cuda:3"}}}}, 1);
    downgrade_to_schema_2(s.database());
  }
  JobStore migrated(dir / "r.sqlite");
  Statement row = migrated.database().prepare("SELECT world_size, devices FROM resources");
  ASSERT_TRUE(row.step());
  EXPECT_EQ(row.integer(0), 1);
  EXPECT_EQ(row.text(1), "cuda:3");
}

// A result becomes rows as reported. A payload that an older cfm stored without the typed checks (odd
// types) still shows only what has its type: numbers as metric values (anything else NULL), numeric
// timings, text artifacts; a section that is not an object has no rows.
TEST(JobStore, ResultSectionsBecomeRowsOfTheirTypes) {
  test::TempDir dir;
  JobStore s(dir / "r.sqlite");
  s.submit("g", "", jobs(3), 1, false, 0);
  run_next_job(s,
               {{"metrics", {{"whole", 3}, {"real", 0.25}, {"none", nullptr}}},
                {"timings", {{"train", 2}}},
                {"artifacts", {{"maps", "/m"}}}},
               1);
  auto odd = [&](const nlohmann::json& payload, const char* key) {
    s.database()
        .prepare("INSERT INTO results(key, attempt, payload) VALUES (?1, 1, ?2)")
        .bind(1, key)
        .bind(2, payload.dump())
        .run();
  };
  odd({{"metrics", {{"text", "x"}, {"flag", true}}},
       {"timings", {{"eval", "slow"}}},
       {"artifacts", {{"size", 3}}}},
      "key1");
  odd({{"metrics", {1, 2}}, {"timings", 5}, {"artifacts", "/a"}}, "key2");
  EXPECT_EQ(column(s, "SELECT name || '=' || coalesce(value, 'NULL') FROM metrics ORDER BY name"),
            (std::vector<std::string>{"flag=NULL", "none=NULL", "real=0.25", "text=NULL", "whole=3.0"}));
  EXPECT_EQ(column(s, "SELECT typeof(value) FROM metrics WHERE name = 'whole'"),
            (std::vector<std::string>{"real"}));
  EXPECT_EQ(column(s, "SELECT stage || '=' || seconds FROM timings"),
            (std::vector<std::string>{"train=2.0"}));
  EXPECT_EQ(column(s, "SELECT kind || '=' || path FROM artifacts"), (std::vector<std::string>{"maps=/m"}));
}

// Schema 3 kept the job-keyed tables as rowid tables; 4 stores them WITHOUT ROWID, rows unchanged; 5 shows
// the result tables as views of the payload, with the same rows.
TEST(JobStore, SchemaFourAndFiveKeepEveryRowOfTheKeyedTables) {
  test::TempDir dir;
  const char* keyed[] = {"attempts", "results", "metrics", "timings", "resources", "artifacts"};
  {
    JobStore s(dir / "r.sqlite");
    s.submit("g", "", jobs(1), 1, false, 0);
    run_next_job(s,
                 {{"metrics", {{"i_auroc", 0.9}, {"p_auroc", nullptr}}},
                  {"timings", {{"train", 2.5}}},
                  {"artifacts", {{"maps", "/runs/x/maps"}}},
                  {"resources", {{"device", "cuda:1"}, {"peak_rss_bytes", 42}, {"world_size", 2}}}},
                 1);
    downgrade_to_schema_4(s.database());
    for (const char* table : keyed)  // as version 3 laid them out: plain rowid tables, same columns
      s.database().exec(
          fmt::format("CREATE TABLE {0}_3 AS SELECT * FROM {0}; DROP TABLE {0}; "
                      "ALTER TABLE {0}_3 RENAME TO {0}",
                      table));
    s.database().exec("PRAGMA user_version = 3");
  }
  JobStore migrated(dir / "r.sqlite");
  for (const char* table : {"attempts", "results"}) {
    Statement sql = migrated.database().prepare("SELECT sql FROM sqlite_master WHERE name = ?1");
    sql.bind(1, table);
    ASSERT_TRUE(sql.step()) << table;
    EXPECT_NE(sql.text(0).find("WITHOUT ROWID"), std::string::npos) << sql.text(0);
  }
  for (const char* view : kResultViews) {
    Statement type = migrated.database().prepare("SELECT type FROM sqlite_master WHERE name = ?1");
    type.bind(1, view);
    ASSERT_TRUE(type.step()) << view;
    EXPECT_EQ(type.text(0), "view");
  }
  auto value = [&](const std::string& query) {
    Statement s = migrated.database().prepare(query);
    EXPECT_TRUE(s.step()) << query;
    return s.is_null(0) ? std::string("NULL") : s.text(0);
  };
  EXPECT_EQ(value("SELECT outcome || ' ' || attempt || ' ' || worker FROM attempts"), "succeeded 1 w");
  EXPECT_EQ(value("SELECT json_extract(payload, '$.timings.train') FROM results"), "2.5");
  EXPECT_EQ(value("SELECT value FROM metrics WHERE name = 'i_auroc'"), "0.9");
  EXPECT_EQ(value("SELECT value FROM metrics WHERE name = 'p_auroc'"), "NULL");
  EXPECT_EQ(value("SELECT stage || '=' || seconds FROM timings"), "train=2.5");
  EXPECT_EQ(
      value("SELECT device || ' ' || peak_rss_bytes || ' ' || world_size || ' ' || devices FROM resources"),
      "cuda:1 42 2 cuda:1");
  EXPECT_EQ(value("SELECT kind || ' ' || path FROM artifacts"), "maps /runs/x/maps");
  EXPECT_EQ(value("SELECT count(*) FROM metrics"), "2");
}

// A forced re-run's result replaces the first one's rows in the views; both payloads stay in results.
TEST(JobStore, ARerunsResultReplacesTheRowsOfTheFirstRun) {
  test::TempDir dir;
  JobStore s(dir / "r.sqlite");
  s.submit("g", "", jobs(1), 1, false, 0);
  run_next_job(s,
               {{"metrics", {{"i_auroc", 0.5}, {"p_auroc", 0.6}}},
                {"timings", {{"train", 1}}},
                {"artifacts", {{"maps", "/first"}}},
                {"resources", {{"device", "cuda:0"}}}},
               1);
  s.submit("g", "", jobs(1), 1, true, 3);
  run_next_job(s, {{"metrics", {{"i_auroc", 0.75}}}, {"timings", {{"infer", 2}}}}, 4);
  EXPECT_EQ(column(s, "SELECT attempt FROM results ORDER BY attempt"), (std::vector<std::string>{"1", "2"}));
  EXPECT_EQ(column(s, "SELECT name || '=' || value FROM metrics"),
            (std::vector<std::string>{"i_auroc=0.75"}));
  EXPECT_EQ(column(s, "SELECT stage || '=' || seconds FROM timings"),
            (std::vector<std::string>{"infer=2.0"}));
  EXPECT_EQ(column(s, "SELECT count(*) FROM artifacts"), (std::vector<std::string>{"0"}));
  EXPECT_EQ(column(s, "SELECT device || ' ' || world_size || ' ' || devices FROM resources"),
            (std::vector<std::string>{"cpu 1 cpu"}));
}

// resources: every rank's device in rank order after rank 0's; numbers typed as the columns say, NULL
// when missing or not a number.
// The resources columns: every rank's device, integers as integers, a whole fps as a real, NULL where a
// figure was not reported (peak GPU memory on the CPU, parameters).
TEST(JobStore, ResourcesShowEveryRanksDeviceAndTypedFigures) {
  test::TempDir dir;
  JobStore s(dir / "r.sqlite");
  s.submit("g", "", jobs(1), 1, false, 0);
  nlohmann::json resources = {
      {"device", "cuda:2"},
      {"world_size", 3},
      {"peak_rss_bytes", 2500000000},
      {"inference_fps", 40},
      {"ranks", {{{"rank", 1}, {"device", "cuda:0"}}, {{"rank", 2}, {"device", "cuda:1"}}}}};
  run_next_job(s, {{"resources", resources}}, 1, 3);
  Statement row = s.database().prepare(
      "SELECT devices, world_size, peak_rss_bytes, typeof(peak_rss_bytes), peak_gpu_bytes, inference_fps, "
      "typeof(inference_fps), parameters FROM resources");
  ASSERT_TRUE(row.step());
  EXPECT_EQ(row.text(0), "cuda:2,cuda:0,cuda:1");
  EXPECT_EQ(row.integer(1), 3);
  EXPECT_EQ(row.integer(2), 2500000000);
  EXPECT_EQ(row.text(3), "integer");
  EXPECT_TRUE(row.is_null(4));
  EXPECT_DOUBLE_EQ(row.real(5), 40.0);
  EXPECT_EQ(row.text(6), "real");
  EXPECT_TRUE(row.is_null(7));
  EXPECT_FALSE(row.step());
}

TEST(JobStore, ReadOnlyAccessWritesNothingAndRefusesForeignFiles) {
  test::TempDir dir;
  {
    JobStore s(dir / "r.sqlite");
    s.submit("g", "", jobs(2), 1, false, 0);
  }
  auto bytes = [&] {
    std::ifstream in(dir / "r.sqlite", std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  const std::string before = bytes();
  {
    JobStore watcher(dir / "r.sqlite", JobStore::Access::ReadOnly);
    EXPECT_EQ(watcher.counts("g").pending, 2);
    EXPECT_EQ(watcher.grids(), std::vector<std::string>{"g"});
    EXPECT_THROW(watcher.submit("h", "", jobs(1), 1, false, 0), StoreError);  // a read-only connection
  }
  EXPECT_EQ(bytes(), before);
  {
    Database other(dir / "other.sqlite");
    other.exec("CREATE TABLE t (x)");
  }
  try {
    JobStore foreign(dir / "other.sqlite", JobStore::Access::ReadOnly);
    ADD_FAILURE() << "a database without the cfm schema was opened";
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("not a cfm results database"), std::string::npos) << e.what();
  }
}

TEST(JobStore, ALeaseOffersOnlyJobsThatFitTheSlotsDevices) {
  test::TempDir dir;
  JobStore s(dir / "r.sqlite");
  std::vector<JobSpec> specs = jobs(2);
  specs[0].config["devices_per_job"] = 2;  // the older job needs two devices
  s.submit("g", "spec", specs, 2, false, 0);
  auto small = s.lease("w/0", "/runs", 60, 1, 1);
  ASSERT_TRUE(small.has_value());
  EXPECT_EQ(small->key, "key1");                    // the one-device job, though younger
  EXPECT_FALSE(s.lease("w/1", "/runs", 60, 2, 1));  // nothing else fits one device
  auto large = s.lease("w/2", "/runs", 60, 3, 2);
  ASSERT_TRUE(large.has_value());
  EXPECT_EQ(large->key, "key0");
}

}  // namespace
}  // namespace cfm

namespace cfm {
namespace {

TEST(Database, ReusedStatementsStartFreshAndTheSameSqlCanBeInUseTwice) {
  test::TempDir dir;
  Database db(dir / "t.sqlite");
  db.exec("CREATE TABLE t(x INTEGER)");
  const std::string insert = "INSERT INTO t(x) VALUES (?1)", select = "SELECT x FROM t ORDER BY x";
  for (int i = 0; i < 3; ++i) db.prepare(insert).bind(1, i).run();
  {
    Statement outer = db.prepare(select);
    ASSERT_TRUE(outer.step());
    EXPECT_EQ(outer.integer(0), 0);
    Statement inner = db.prepare(select);  // the cached one is mid-iteration: a second one of its own
    ASSERT_TRUE(inner.step());
    EXPECT_EQ(inner.integer(0), 0);
    ASSERT_TRUE(outer.step());
    EXPECT_EQ(outer.integer(0), 1);
  }
  // Handed back reset: the next use starts at the first row, with no binding left over.
  Statement again = db.prepare(select);
  ASSERT_TRUE(again.step());
  EXPECT_EQ(again.integer(0), 0);
  db.prepare(insert).run();  // parameter 1 unbound: NULL, not the 2 bound last time
  Statement nulls = db.prepare("SELECT COUNT(*) FROM t WHERE x IS NULL");
  ASSERT_TRUE(nulls.step());
  EXPECT_EQ(nulls.integer(0), 1);
}

}  // namespace
}  // namespace cfm
